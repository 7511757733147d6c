"""What every stage and the service share: the label map, the normaliser, params, paths, metrics, the stage runner."""
