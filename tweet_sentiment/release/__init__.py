"""Releases: the model registry (GTO tags), the promotion gate, and the report on a change."""
