"""DVC stage `package`: build the Bento (service code + models/serving + its runtime's packages) and export it.

What it does, and why, is said once, in `tweet_sentiment/release/bento_build.py`.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.release.bento_build import build_bento

if __name__ == "__main__":
    run_stage(build_bento)
