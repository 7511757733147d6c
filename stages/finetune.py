"""DVC stage `finetune`: fine-tune the base model, keep the best epoch, save it.

With `train.processes` above 1 it runs itself again under torchrun (DDP); only
global rank 0 writes the DVCLive metrics and the model.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.train.run import run_finetune

if __name__ == "__main__":
    run_stage(run_finetune)
