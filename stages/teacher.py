"""DVC stage `teacher` (frozen): fine-tune a larger model, write its logits on the training and transfer tweets.

It trains `teacher.model` (all-mpnet-base-v2 by default: 110M parameters, about
an hour per epoch on 2 CPU cores) with `finetune`'s own Trainer code on the same
training split, keeps the best epoch by val macro recall, and writes:
- data/teacher/train.csv: its logits on every prepared training tweet;
- data/teacher/transfer.csv: its logits on `teacher.transfer_samples` transfer tweets;
- metrics/teacher: its training curves and its val and test scores.
`dvc.yaml` freezes it, so `dvc repro` uses the committed logits (docs/distillation.md says how to rerun it).
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.train.distillation.run import run_teacher

if __name__ == "__main__":
    run_stage(run_teacher)
