"""How faithful the served explanations are: a deletion curve against random words.

For each tweet, the words an explanation ranks highest are removed together
(k = 1, 2, 3) and the tweet is scored again: a faithful explanation's top-k words
lower the predicted class's probability more than k words drawn at random
(the deletion metric of Samek et al. 2017, "Evaluating the visualization of what
a deep neural network has learned"; DeYoung et al. 2020, ERASER's
"comprehensiveness"). Tweets with fewer than k words sit out that k, counted.
`python -m benchmarks.explain_faithfulness` prints the figures docs/explanations.md gives.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tweet_sentiment.serving.explain import MAX_EXPLAIN_WORDS, explain_prediction, without_words, word_spans
from tweet_sentiment.serving.predictor import Predictor


@dataclass(frozen=True)
class DeletionPoint:
    """Mean fall of the predicted class's probability with k words removed, over `tweets` tweets."""

    k: int
    tweets: int  # tweets with at least k words (the rest sit this k out)
    top_drop: float  # the explanation's k highest-weighted words removed
    random_drop: float  # k words drawn at random removed (one draw per tweet, seeded)
    top_wins: float  # share of those tweets where the top-k removal lowered it more than the random one


def spans_of(words: Sequence[dict]) -> list[tuple[int, int]]:
    """`(start, end)` of each of an explanation's words."""
    return [(word["start"], word["end"]) for word in words]


def deletion_curve(
    predictor: Predictor, tweets: Sequence[str], ks: Sequence[int] = (1, 2, 3), seed: int = 0
) -> list[DeletionPoint]:
    """One `DeletionPoint` per k: every explanation, then every deletion scored in one batched call.

    Tweets over the explanation's word cap (`MAX_EXPLAIN_WORDS`) are skipped, as `/explain` refuses them.
    """
    rng = np.random.default_rng(seed)
    kept = [tweet for tweet in tweets if len(word_spans(tweet)) <= MAX_EXPLAIN_WORDS]
    explanations = [explain_prediction(predictor, tweet) for tweet in kept]
    variants, owners = [], []  # (tweet index, k, "top" | "random")
    for index, (tweet, explanation) in enumerate(zip(kept, explanations, strict=True)):
        words = explanation["words"]
        ranked = sorted(words, key=lambda word: word["weight"], reverse=True)
        for k in ks:
            if len(words) < k:
                continue
            drawn = [words[i] for i in rng.choice(len(words), size=k, replace=False)]
            variants += [without_words(tweet, spans_of(ranked[:k])), without_words(tweet, spans_of(drawn))]
            owners += [(index, k, "top"), (index, k, "random")]
    probabilities = predictor.predict_proba(variants)
    drops: dict[tuple[int, str], list[float]] = {}
    for (index, k, kind), row in zip(owners, probabilities, strict=True):
        explanation = explanations[index]
        predicted = explanation["pred_id"]
        base = explanation["scores"][explanation["pred_label"]]
        drops.setdefault((k, kind), []).append(base - float(row[predicted]))
    points = []
    for k in ks:
        top, random = np.array(drops.get((k, "top"), [])), np.array(drops.get((k, "random"), []))
        points.append(
            DeletionPoint(
                k=k,
                tweets=len(top),
                top_drop=float(top.mean()) if len(top) else 0.0,
                random_drop=float(random.mean()) if len(random) else 0.0,
                top_wins=float((top > random).mean()) if len(top) else 0.0,
            )
        )
    return points
