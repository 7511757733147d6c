"""The service's Prometheus series: what the model sees and says, and how right it was.

Created lazily (in `ServiceMetrics.__init__`): prometheus_client must be
imported after BentoML sets PROMETHEUS_MULTIPROC_DIR in the worker. BentoML's
`/metrics` serves them beside its own; monitoring/alerts.yml and the Grafana
dashboard read them.
"""

import collections
from collections import deque

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.language import LANGUAGE_LABELS, metric_language
from tweet_sentiment.serving.limits import MAX_TWEET_CHARS

LABEL_SHARE_WINDOW = 1000  # predictions behind `tweet_sentiment_predicted_label_share`
INPUT_LENGTH_BUCKETS = (10, 20, 40, 80, 140, 280, 560, 1000, MAX_TWEET_CHARS)


class ServiceMetrics:
    """Prometheus series for monitoring what the model sees and says, and how right it was."""

    def __init__(self, registry=None, share_window: int = LABEL_SHARE_WINDOW) -> None:
        """`registry=None` is prometheus_client's default one, which BentoML's /metrics serves."""
        from prometheus_client import REGISTRY, Counter, Gauge, Histogram

        registry = REGISTRY if registry is None else registry
        self.predictions = Counter(
            "tweet_sentiment_predictions", "Predicted labels, one per tweet.", labelnames=["label"], registry=registry
        )
        self.languages = Counter(
            "tweet_sentiment_predictions_by_language",
            f"Predictions by the tweet's detected language: {', '.join(LANGUAGE_LABELS)} (any other is `other`).",
            labelnames=["lang"],
            registry=registry,
        )
        self.input_chars = Histogram(
            "tweet_sentiment_input_chars",
            "Length of each input tweet in characters.",
            buckets=INPUT_LENGTH_BUCKETS,
            registry=registry,
        )
        self.feedback = Counter(
            "tweet_sentiment_feedback",
            "True labels received on POST /feedback, by true and predicted label.",
            labelnames=["label", "predicted"],
            registry=registry,
        )
        self.explanations = Counter(
            "tweet_sentiment_explanations",
            "Explanations on POST /explain; their one-word-out variants are not predictions and are not counted above.",
            registry=registry,
        )
        # Across worker processes, the share last written wins (BentoML runs
        # prometheus_client in multiprocess mode); each worker sees a random half.
        self.label_share = Gauge(
            "tweet_sentiment_predicted_label_share",
            f"Share of each predicted label over the last {share_window} predictions of a worker.",
            labelnames=["label"],
            multiprocess_mode="livemostrecent",
            registry=registry,
        )
        self.recent_labels: deque[str] = deque(maxlen=share_window)
        self.info = Gauge(
            "tweet_sentiment_model_info",
            "What is served (1): registry version, Bento version, weights digest, runtime.",
            labelnames=["registry_version", "bento_version", "model_version", "runtime"],
            multiprocess_mode="livemax",
            registry=registry,
        )

    def model_info(self, served: dict[str, str]) -> None:
        """Set the info gauge for what this worker serves (`ServedModel.as_dict()`)."""
        self.info.labels(**served).set(1)

    def observe(self, tweets: list[str], results: list[dict]) -> None:
        for tweet, result in zip(tweets, results, strict=True):
            self.input_chars.observe(len(tweet))
            self.predictions.labels(label=result["pred_label"]).inc()
            self.recent_labels.append(result["pred_label"])
        # one increment per language and batch: a multiprocess counter writes its file at each one
        for lang, answers in collections.Counter(metric_language(result["lang"]) for result in results).items():
            self.languages.labels(lang=lang).inc(answers)
        counts = collections.Counter(self.recent_labels)
        for label in LABELS if self.recent_labels else ():
            self.label_share.labels(label=label).set(counts[label] / len(self.recent_labels))

    def observe_explanation(self) -> None:
        self.explanations.inc()

    def observe_feedback(self, label: str, predicted: str) -> None:
        self.feedback.labels(label=label, predicted=predicted).inc()
