"""DVC stage `optimize`: build candidate runtimes, score and time each as served, keep one.

What it does, and why, is said once, in `tweet_sentiment/optimize/run.py`.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.optimize.run import run_optimize

if __name__ == "__main__":
    run_stage(run_optimize)
