"""Shared core of the tweet sentiment pipeline and service.

Training stages and the BentoML service import the same label map, text
normalisation and prediction code from here, so they cannot drift apart.
`serving/` is what the service runs (and all the Bento ships of this package);
`drift/` is the drift report and its reference; the flat modules are the
pipeline's. README.md has the annotated tree.
"""
