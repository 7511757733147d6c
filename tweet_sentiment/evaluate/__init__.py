"""What `evaluate` scores: the evaluation splits and sample, and the robustness slices."""
