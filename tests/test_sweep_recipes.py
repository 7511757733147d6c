"""experiments/sweep_recipes.py: its settings are real params changes, and its scheduler runs what it should."""

import math
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import pytest

from experiments import sweep_recipes as sweep
from tweet_sentiment.core.params import load_params


def test_with_changes_replaces_nested_and_top_level_params_only():
    params = load_params()
    changed = sweep.with_changes(params, {"tokenize.emoji_share": 0.1, "epochs": 3, "train.bf16": False})
    assert (changed.tokenize.emoji_share, changed.epochs, changed.train.bf16) == (0.1, 3, False)
    assert changed.tokenize.max_length == params.tokenize.max_length
    assert (changed.lr, changed.train.ema_epochs) == (params.lr, params.train.ema_epochs)


@pytest.mark.parametrize("setting", sorted(sweep.SETTINGS))
def test_every_setting_but_the_baselines_changes_params(setting):
    changes, from_tapt = sweep.SETTINGS[setting]
    if setting == "default" or from_tapt:
        assert changes == {}  # the default recipe, from the base model or from the TAPT encoder
    else:
        assert sweep.with_changes(load_params(), changes) != load_params()


def test_a_misspelt_param_is_refused():
    with pytest.raises(TypeError, match="emoji_shares"):
        sweep.with_changes(load_params(), {"tokenize.emoji_shares": 0.1})


class Jobs:
    """Stand-ins for training: each job finishes when the test says so (or at once), and is logged."""

    def __init__(self, failing=(), held=()):
        self.failing, self.held = set(failing), {job: threading.Event() for job in held}
        self.started: list = []
        self.recorded: list = []

    def start(self, pool: Executor, job) -> Future:
        self.started.append(job)

        def work():
            if job in self.held:
                assert self.held[job].wait(10)
            if job in self.failing:
                raise RuntimeError(f"{job} failed")
            return {"job": job}

        return pool.submit(work)

    def record(self, job, outcome: dict) -> None:
        assert outcome == {"job": job}
        self.recorded.append(job)


def test_tapt_runs_start_only_once_the_encoder_is_trained():
    jobs = Jobs(held={sweep.TAPT_JOB})
    pending = [("tapt", 42), ("default", 42), ("tapt", 1)]
    threading.Timer(0.3, jobs.held[sweep.TAPT_JOB].set).start()
    with ThreadPoolExecutor(3) as pool:  # a free slot does not start a `tapt` run before its encoder
        left = sweep.schedule(pool, pending, jobs.start, jobs.record, workers=3, deadline=math.inf)
    assert left == []
    assert jobs.started[:2] == [sweep.TAPT_JOB, ("default", 42)]
    assert jobs.recorded[:2] == [("default", 42), sweep.TAPT_JOB]
    assert sorted(jobs.recorded[2:]) == [("tapt", 1), ("tapt", 42)]


def test_a_failed_encoder_drops_the_tapt_runs_and_a_failed_run_is_skipped():
    jobs = Jobs(failing={sweep.TAPT_JOB, ("emoji0.1", 1)})
    pending = [("tapt", 42), ("default", 42), ("emoji0.1", 1), ("tapt", 1)]
    with ThreadPoolExecutor(2) as pool:
        left = sweep.schedule(pool, pending, jobs.start, jobs.record, workers=2, deadline=math.inf)
    assert left == []
    assert sorted(jobs.started) == sorted([sweep.TAPT_JOB, ("default", 42), ("emoji0.1", 1)])
    assert jobs.recorded == [("default", 42)]


def test_nothing_starts_after_the_deadline_and_runs_under_way_finish():
    jobs = Jobs(held={("default", 42)})
    pending = [("default", 42), ("default", 1)]
    with ThreadPoolExecutor(2) as pool:
        deadline = sweep.time.monotonic() + 0.5
        threading.Timer(1.0, jobs.held[("default", 42)].set).start()  # finishes after the deadline
        left = sweep.schedule(pool, pending, jobs.start, jobs.record, workers=1, deadline=deadline)
    assert left == [("default", 1)]
    assert jobs.recorded == [("default", 42)]
