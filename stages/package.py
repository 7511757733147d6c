"""DVC stage `package`: build the Bento (service code + models/serving + its runtime's packages) and export it.

The exported archive is a cached DVC out, so `dvc push` / `dvc pull` carry the
Bento too; `bentoml import "$PWD/models/tweet-sentiment-bento.tar"` restores it elsewhere.
Both the Bento's version and the archive's bytes follow from the inputs alone,
so a rerun with the same inputs leaves `dvc.lock` as it was.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.release.bento_build import build_bento

if __name__ == "__main__":
    run_stage(build_bento)
