"""DVC stage `teacher` (frozen): fine-tune a larger model, write its logits on the training and transfer tweets.

What it does, and why, is said once, in `tweet_sentiment/train/distillation/run.py`.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.train.distillation.run import run_teacher

if __name__ == "__main__":
    run_stage(run_teacher)
