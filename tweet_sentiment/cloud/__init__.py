"""Launchers for Google Cloud: Vertex AI custom training jobs."""
