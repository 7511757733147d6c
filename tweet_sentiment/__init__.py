"""Shared core of the tweet sentiment pipeline and service.

Training stages and the BentoML service import the same label map, text
normalisation and prediction code from here, so they cannot drift apart.
"""

from tweet_sentiment.labels import ID2LABEL, LABEL2ID, LABELS

__all__ = ["ID2LABEL", "LABEL2ID", "LABELS"]
