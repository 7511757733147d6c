"""DVC stage `finetune`: fine-tune the base model, keep the best epoch, save it.

What it does, and why, is said once, in `tweet_sentiment/train/run.py`.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.train.run import run_finetune

if __name__ == "__main__":
    run_stage(run_finetune)
