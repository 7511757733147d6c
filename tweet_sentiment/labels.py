"""The one label map, in TweetEval's order (its mapping.txt)."""

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {label: i for i, label in ID2LABEL.items()}
