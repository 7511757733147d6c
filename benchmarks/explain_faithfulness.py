"""Faithfulness of `POST /explain`'s word weights: the deletion curve on TweetEval test tweets.

    python -m benchmarks.explain_faithfulness [--model models/serving] [--tweets 500]

Prints, for k = 1..3, the mean fall of the predicted class's probability when the
explanation's top-k words are removed and when k random words are, and the time
one explanation takes (tweet_sentiment/evaluate/faithfulness.py says how).
docs/explanations.md quotes its output.
"""

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

from benchmarks.benchmarks_md import machine
from tweet_sentiment.core import paths
from tweet_sentiment.evaluate.faithfulness import deletion_curve
from tweet_sentiment.serving.explain import explain_prediction
from tweet_sentiment.serving.limits import PARALLEL_BATCHES, SUB_BATCH
from tweet_sentiment.serving.predictor import Predictor
from tweet_sentiment.serving.runtimes import read_runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=paths.SERVING)
    parser.add_argument("--tweets", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    test = pd.read_csv(paths.PREPARED / "test.csv", dtype=str, keep_default_na=False)
    tweets = test.sample(n=args.tweets, random_state=args.seed)["text"].tolist()
    predictor = Predictor(args.model, batch_size=SUB_BATCH, parallel_batches=PARALLEL_BATCHES, threads=PARALLEL_BATCHES)
    print(f"{read_runtime(args.model).name} on {machine()}; {len(tweets)} test tweets (seed {args.seed})")
    print("| k | tweets | top-k words removed | k random words removed | top-k lowers it more |")
    print("|---|---:|---:|---:|---:|")
    for point in deletion_curve(predictor, tweets, seed=args.seed):
        print(f"| {point.k} | {point.tweets} | {point.top_drop:.3f} | {point.random_drop:.3f} | {point.top_wins:.0%} |")
    timings = []
    for tweet in tweets[:200]:
        started = time.perf_counter()
        explain_prediction(predictor, tweet)
        timings.append(1000 * (time.perf_counter() - started))
    p95 = statistics.quantiles(timings, n=20)[-1]
    print(f"one explanation: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
