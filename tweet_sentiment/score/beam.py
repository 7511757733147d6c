"""`python -m tweet_sentiment.score.beam INPUT ... --out OUT [Beam options]`: the scoring command as a Beam pipeline.

The same shards, checks, model, output files and exit status as
`python -m tweet_sentiment.score` (whose arguments it takes), on any Beam runner:
the DirectRunner by default, Dataflow with `--runner DataflowRunner` and its
options (deploy/score_dataflow.sh). Any argument the command does not know
goes to Beam's `PipelineOptions`.

1. `ReadShard` reads each shard in chunks (the command's readers) and emits each
   chunk, keyed by (shard, chunk), and each text that passes the service's
   checks, keyed by (shard, chunk, position).
2. The texts are spread over the workers (`Reshuffle`) and scored by
   `RunInference` with `PredictorHandler`, a `ModelHandler` around the service's
   `Predictor`: Beam's `BatchElements` batches them (`batch_elements_kwargs`:
   between `--batch-size` and `--chunk-size` texts), the `Predictor` runs each
   batch in length-sorted model calls of `--batch-size`.
3. Each chunk is joined with its scores (`CoGroupByKey`), the chunks of a shard
   are gathered (`GroupByKey`) and written in order by the command's atomic
   shard writer, errors file included.

On Dataflow every vCPU runs its own SDK process with its own model, so pass
`--threads 1`; the model folder must be on GCS (`--model gs://...`).
"""

import argparse
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import Metrics, MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from tweet_sentiment.core.labels import ModelLoadError
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.tables import Chunk, read_chunks
from tweet_sentiment.score.command import EXIT_CANNOT, Plan, add_arguments, plan_run, predictor_of, summary
from tweet_sentiment.score.scoring import ChunkResult, Result, checked, combine, finish_chunk, score_texts
from tweet_sentiment.score.shards import Shard, local_model, write_shard
from tweet_sentiment.serving.predictor import Predictor
from tweet_sentiment.serving.runtimes import model_version

log = logging.getLogger("tweet_sentiment.score")
NAMESPACE = "tweet_sentiment_score"  # of the pipeline's counters (scored, failed rows)
TEXTS = "texts"  # ReadShard's tagged output


class PredictorHandler(ModelHandler[str, Result, Predictor]):
    """RunInference's model: the service's `Predictor` on a model folder (local or gs://), loaded once per process."""

    def __init__(self, model: str, args: argparse.Namespace) -> None:
        """`args` are the command's: `--batch-size`, `--parallel` and `--threads` for the `Predictor`,
        `--batch-size` to `--chunk-size` texts for Beam's `BatchElements`."""
        super().__init__(min_batch_size=min(args.batch_size, args.chunk_size), max_batch_size=args.chunk_size)
        self.model = model
        self.settings = argparse.Namespace(batch_size=args.batch_size, parallel=args.parallel, threads=args.threads)

    def load_model(self) -> Predictor:
        """Raises `ModelLoadError` as the service would; a remote folder is copied to local disk first."""
        with local_model(self.model) as model_dir:
            return predictor_of(model_dir, self.settings)  # holds what it needs: the copy can go

    def run_inference(
        self, batch: Sequence[str], model: Predictor, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        """One `PredictionResult` per text: its probabilities, shape (3,), or the `Rejection` saying why not."""
        scores = score_texts(model, batch)
        return [PredictionResult(text, scores.result(i)) for i, text in enumerate(batch)]

    def get_metrics_namespace(self) -> str:
        return NAMESPACE


class ReadShard(beam.DoFn):
    """(shard index, `Shard`) -> ((shard, chunk), `Chunk`), and tagged `texts`: ((shard, chunk, position), text)."""

    def __init__(self, text_column: str, keep: list[str] | None, chunk_size: int, delimiter: str | None) -> None:
        self.text_column, self.keep, self.chunk_size, self.delimiter = text_column, keep, chunk_size, delimiter

    def process(self, element: tuple[int, Shard]) -> Iterator:
        index, shard = element
        chunks = read_chunks(shard.input, self.text_column, self.keep, self.chunk_size, self.delimiter)
        for number, chunk in enumerate(chunks):
            yield (index, number), chunk
            rejected = checked(chunk.values)
            for position, value in enumerate(chunk.values):
                if position not in rejected:
                    yield beam.pvalue.TaggedOutput(TEXTS, ((index, number, position), value))


def assemble(element: tuple[tuple[int, int], dict[str, list]], version: str) -> tuple[int, tuple[int, ChunkResult]]:
    """((shard, chunk), the chunk and its scores) -> (shard, (chunk, `ChunkResult`)), as the command scores a chunk."""
    key, joined = element
    [chunk] = joined["chunk"]
    chunk: Chunk
    scores = combine(len(chunk.values), checked(chunk.values), joined["scores"])
    return key[0], (key[1], finish_chunk(chunk, scores, version))


class WriteShard(beam.DoFn):
    """(shard index, its (chunk, `ChunkResult`)s) -> the shard and its errors file, written atomically."""

    def __init__(self, shards: list[Shard]) -> None:
        self.shards = shards
        self.scored = Metrics.counter(NAMESPACE, "scored")
        self.failed = Metrics.counter(NAMESPACE, "failed")

    def process(self, element: tuple[int, Iterable[tuple[int, ChunkResult]]]) -> Iterator[tuple[str, int, int]]:
        index, results = element
        ordered = (result for _, result in sorted(results, key=lambda numbered: numbered[0]))
        count = write_shard(self.shards[index], ordered, lambda rows: None)
        self.scored.inc(count.scored)
        self.failed.inc(count.failed)
        yield self.shards[index].output, count.scored, count.failed


def build(pipeline: beam.Pipeline, shards: list[Shard], args: argparse.Namespace, version: str) -> None:
    """The scoring pipeline for `shards` on `pipeline`; `args` are the command's."""
    read = (
        pipeline
        | "Shards" >> beam.Create(list(enumerate(shards)))
        | "Read"
        >> beam.ParDo(ReadShard(args.text_column, args.keep, args.chunk_size, args.delimiter)).with_outputs(
            TEXTS, main="chunk"
        )
    )
    scores = (
        read[TEXTS]
        | "Spread" >> beam.Reshuffle()
        | "Score" >> RunInference(KeyedModelHandler(PredictorHandler(args.model, args)))
        | "ByChunk" >> beam.MapTuple(lambda key, result: ((key[0], key[1]), (key[2], result.inference)))
    )
    (
        {"chunk": read.chunk, "scores": scores}
        | "Join" >> beam.CoGroupByKey()
        | "Assemble" >> beam.Map(assemble, version=version)
        | "ByShard" >> beam.GroupByKey()
        | "Write" >> beam.ParDo(WriteShard(shards))
    )


def counter(result: beam.runners.runner.PipelineResult, name: str) -> int:
    """A counter of the finished pipeline (committed where the runner has them, else attempted)."""
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))["counters"]
    return sum((c.committed if c.committed is not None else c.attempted) or 0 for c in found)


def run(args: argparse.Namespace, options: PipelineOptions) -> int:
    """Run the pipeline on parsed arguments; the exit status."""
    runner = str(options.view_as(StandardOptions).runner or "DirectRunner")
    if "Dataflow" in runner:
        local = [url for url in [*args.inputs, args.out, args.model] if "://" not in url]
        if local:
            raise InputError(f"{local[0]}: Dataflow's workers cannot see local files; use gs:// URLs")
    with local_model(args.model) as model_dir:
        version = model_version(model_dir)
        predictor_of(model_dir, argparse.Namespace(batch_size=1, parallel=1, threads=1))  # refuse a bad model here
    plan: Plan = plan_run(args, version)
    log.info("scoring %d shard(s) on %s with model %s from %s", len(plan.todo), runner, version, args.model)
    started = time.perf_counter()
    scored = failed = 0
    if plan.todo:
        pipeline = beam.Pipeline(options=options)
        build(pipeline, plan.todo, args, version)
        result = pipeline.run()
        result.wait_until_finish()
        scored, failed = counter(result, "scored"), counter(result, "failed")
    line, status = summary(plan, scored, failed, time.perf_counter() - started, args.out)
    log.info("%s", line)
    return status


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m tweet_sentiment.score.beam", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.set_defaults(threads=None)  # the engine's default: all cores of the process's machine
    args, beam_args = parser.parse_known_args(argv)
    try:
        return run(args, PipelineOptions(beam_args, save_main_session=False))
    except (InputError, ModelLoadError) as error:
        log.error("%s", error)
    except OSError as error:
        log.error("%s: %s", error.filename or "input/output", error.strerror or error)
    return EXIT_CANNOT


if __name__ == "__main__":
    raise SystemExit(main())
