"""DVC stage `optimize`: build candidate runtimes, score and time each as served, keep one.

Candidates (tweet_sentiment/optimize/quantize.py) are scored on val and test through
`Predictor`, the service's prediction path, and gated against the fp32 model.
The chosen one is copied to `models/serving`, which `evaluate` scores and
`package` ships. DVCLive writes every candidate's scores to `metrics/optimize`.
Timings are logged, not written: they differ from run to run, and a rerun must
leave `dvc.lock` as it was.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.optimize.run import run_optimize

if __name__ == "__main__":
    run_stage(run_optimize)
