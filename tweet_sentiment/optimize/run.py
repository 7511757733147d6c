"""The `optimize` stage's work: build candidate runtimes, score and time each as served, keep one.

Candidates (tweet_sentiment/optimize/quantize.py) are scored on val and test through
`Predictor`, the service's prediction path, and gated against the fp32 model.
The chosen one is copied to `models/serving`, which `evaluate` scores and
`package` ships. DVCLive writes every candidate's scores to `metrics/optimize`.
Timings are logged, not written: they differ from run to run, and a rerun must
leave `dvc.lock` as it was.
"""

import logging
import shutil
import tempfile
from pathlib import Path

from dvclive import Live

from tweet_sentiment.core import paths
from tweet_sentiment.core.cpu import cpu_kind
from tweet_sentiment.core.params import Params
from tweet_sentiment.evaluate.splits import EVAL_SPLITS, evaluation_frame
from tweet_sentiment.optimize.choose import BASELINE, Candidate, assess, calibration_tweets, check_candidates, choose
from tweet_sentiment.optimize.quantize import CANDIDATES, build_candidates
from tweet_sentiment.serving.tokenizer import TweetTokenizer

log = logging.getLogger("optimize")


def log_candidate(live: Live, candidate: Candidate, baseline: Candidate, passes: bool, chosen: bool) -> None:
    for split, scores in candidate.scores.items():
        live.log_metric(f"{candidate.name}/{split}/macro_recall", scores["macro_recall"], plot=False)
    live.log_metric(f"{candidate.name}/test/agreement", candidate.agreement, plot=False)
    live.log_metric(f"{candidate.name}/passes_gate", int(passes), plot=False)
    live.log_metric(f"{candidate.name}/served", int(chosen), plot=False)
    log.info(
        "%-26s test macro recall %.4f (drop %+.4f), agreement %.4f, %s; %.0f tweets/s in-process, as served",
        candidate.name,
        candidate.scores["test"]["macro_recall"],
        candidate.recall_drop(baseline),
        candidate.agreement,
        "passes the gate" if passes else "fails the gate",
        candidate.tweets_per_s,
    )


def run_optimize(params: Params) -> None:
    settings = params.optimize
    check_candidates(settings, list(CANDIDATES))
    frames = {name: evaluation_frame(name, params) for name in EVAL_SPLITS}
    timing_texts = list(frames["test"]["text"].iloc[: settings.timing_tweets])
    calibration = TweetTokenizer(paths.MODEL).encode(calibration_tweets(params))
    with tempfile.TemporaryDirectory() as tmp:
        names = [BASELINE, *settings.candidates]
        built = {}
        candidates: list[Candidate] = []
        baseline = None
        for name, path in build_candidates(
            names, paths.MODEL, Path(tmp), calibration, settings.openvino_int8_float_ops
        ):
            built[name] = path
            scored = assess(path, params.evaluate.batch_size, frames, baseline, timing_texts)
            baseline = baseline or scored
            candidates.append(scored)
        chosen = choose(candidates[1:], baseline, settings)
        if settings.runtime != "auto":
            log.warning("serving %s as `optimize.runtime` says, whether or not it passes the gate", chosen.name)
        elif chosen is baseline:
            log.warning("no candidate passed the gate: serving the fp32 model (%s, torch in the image)", BASELINE)
        with Live(str(paths.OPTIMIZE_LIVE), dvcyaml=False, save_dvc_exp=False) as live:
            # what the candidates were timed and gated on (the model card says it): the kind, not the machine
            live.log_param("cpu", cpu_kind())
            for candidate in candidates:
                passes = candidate.passes(baseline, settings)
                log_candidate(live, candidate, baseline, passes, candidate is chosen)
            live.log_plot(
                "candidates",
                [
                    {"runtime": c.name, "test_macro_recall": c.scores["test"]["macro_recall"], "agreement": c.agreement}
                    for c in candidates
                ],
                x="test_macro_recall",
                y="runtime",
                template="bar_horizontal",
                title="Test macro recall of each candidate runtime (fp32 = torchscript-fp32)",
            )
        if paths.SERVING.exists():
            shutil.rmtree(paths.SERVING)
        shutil.copytree(built[chosen.name], paths.SERVING)
    log.info("serving %s (models/serving)", chosen.name)
