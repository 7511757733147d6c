"""DVC stage `evaluate`: score what is served on TweetEval val and test, and under drift.

What it does, and why, is said once, in `tweet_sentiment/evaluate/run.py`.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.evaluate.run import evaluate_served

if __name__ == "__main__":
    run_stage(evaluate_served)
