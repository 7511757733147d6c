"""Where each stage reads and writes; dvc.yaml declares the same paths."""

from pathlib import Path

EXTERNAL = Path("data/external")
PREPARED = Path("data/prepared")
TOKENIZED = Path("data/tokenized")
MODEL = Path("models/finetuned")
BENTO_ARCHIVE = Path("models/tweet-sentiment-bento.tar")  # exported Bento (plain tar: xz takes minutes), cached by DVC
BENTO_INFO = Path("models/bento.json")  # its tag and sizes
MODEL_CARD = Path("models/model_card.md")  # the Bento's model card, in git (tweet_sentiment/card/model_card.py)
CHECKPOINTS = Path("build/checkpoints")  # the Trainer's per-epoch checkpoints, removed after training
METRICS = Path("metrics")
TRAIN_LIVE = METRICS / "train"  # DVCLive dir of `finetune`
TRANSFER = EXTERNAL / "tweeteval-other"  # unlabelled in-domain tweets the teacher labels
TEACHER = Path("data/teacher")  # the `teacher` stage's logits (tweet_sentiment/train/distillation/soft_targets.py)
TEACHER_LIVE = METRICS / "teacher"  # DVCLive dir of `teacher`
TEACHER_CHECKPOINTS = Path("build/teacher-checkpoints")
EVAL_LIVE = METRICS / "eval"  # DVCLive dir of `evaluate`
SPLITS = ("train", "val", "test")
DRIFT_REFERENCE = Path("models/drift_reference.npz")  # features of training tweets, for the drift report
REFERENCE_METRICS = METRICS / "reference.json"  # their summary: predicted-label shares, medians
SERVING = Path("models/serving")  # the runtime `optimize` chose: what `evaluate` scores and `package` ships
OPTIMIZE_LIVE = METRICS / "optimize"  # DVCLive dir of `optimize`: every candidate's scores
LIVE = Path("data/live")  # what `harvest` took from the query log
HARVESTED = LIVE / "feedback.csv"  # its labelled rows, oldest first
LIVE_METRICS = METRICS / "live.json"  # every log record accounted for, live accuracy per version
