"""Scoring the rows of a chunk through the service's `Predictor`, and the columns each scored row gets.

The same path as `POST /predict`: the service's checks on each text
(`checks.check_text`), then `Predictor.encode` and `Predictor.proba_of_encoded`
on what passes, so a tweet gets the scores the service answers. Texts that
the tokenizer leaves without a single word piece (invisible characters only)
are refused here rather than scored as an empty tweet.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.language import detect_languages
from tweet_sentiment.inputs.accounting import Rejection
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.tables import Chunk
from tweet_sentiment.score.checks import NO_TOKENS, check_text
from tweet_sentiment.serving.explain import TooManyWords, explain_prediction
from tweet_sentiment.serving.predictor import Predictor

SCORE_COLUMNS = tuple(f"score_{label}" for label in LABELS)
# `detected_lang`, not `lang`: Twitter's own tweet objects carry a `lang` (its detection), which stays the user's.
OUTPUT_COLUMNS = ("pred_id", "pred_label", *SCORE_COLUMNS, "model_version", "detected_lang")
EXPLANATION_COLUMN = "explanation"  # with --explain: `[[word, weight], ...]` as JSON, as POST /explain weighs them
Result = np.ndarray | Rejection  # one text's probabilities, shape (3,), or why it was not scored


@dataclass
class Scores:
    """Class probabilities of n texts, shape (n, 3) float32 (zero rows where rejected), and the rejections by index."""

    probabilities: np.ndarray
    rejected: dict[int, Rejection]

    def result(self, index: int) -> Result:
        """The text's probabilities, shape (3,), or why it was not scored."""
        return self.rejected.get(index, self.probabilities[index])


@dataclass
class ChunkResult:
    """A chunk once scored: its scored rows (kept columns + `OUTPUT_COLUMNS`) and its bad rows (row number, why)."""

    frame: pd.DataFrame
    errors: list[tuple[int, Rejection]]


def score_texts(predictor: Predictor, texts: Sequence[str]) -> Scores:
    """Probabilities of texts that passed `check_text`; those without a word piece are rejected instead."""
    probabilities = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    if not texts:
        return Scores(probabilities, {})
    encoded = predictor.encode(texts)
    counts = predictor.tokenizer.counts(encoded)
    scored = [i for i, count in enumerate(counts) if count.tokens > 0]
    if scored:
        probabilities[scored] = predictor.proba_of_encoded([encoded[i] for i in scored])
    return Scores(probabilities, {i: NO_TOKENS for i, count in enumerate(counts) if count.tokens == 0})


def checked(values: Sequence[object]) -> dict[int, Rejection]:
    """`check_text` on each cell: the rejected ones by index (the rest go to the model)."""
    return {i: rejection for i, value in enumerate(values) if (rejection := check_text(value)) is not None}


def combine(count: int, rejected: dict[int, Rejection], results: Iterable[tuple[int, Result]]) -> Scores:
    """`Scores` of `count` cells: the checks' rejections and the model's results (index, `Result`)."""
    probabilities = np.zeros((count, len(LABELS)), dtype=np.float32)
    rejected = dict(rejected)
    for index, result in results:
        if isinstance(result, Rejection):
            rejected[index] = result
        else:
            probabilities[index] = result
    return Scores(probabilities, rejected)


def score_values(predictor: Predictor, values: Sequence[object]) -> Scores:
    """`check_text` on each cell, then `score_texts` on those that pass (one call); indices are those of `values`."""
    rejected = checked(values)
    valid = [i for i in range(len(values)) if i not in rejected]
    scores = score_texts(predictor, [values[i] for i in valid])
    return combine(len(values), rejected, ((index, scores.result(i)) for i, index in enumerate(valid)))


def prediction_columns(
    probabilities: np.ndarray, model_version: str, texts: Sequence[str]
) -> dict[str, np.ndarray | list]:
    """`OUTPUT_COLUMNS` for rows of class probabilities (n, 3) of `texts`: label ids, names, scores (float64),
    version and each text's language (ISO 639-1 or `und`, `tweet_sentiment/core/language.py`).

    The scores are the float32 probabilities as float64, the very numbers `POST /predict` answers.
    """
    ids = probabilities.argmax(axis=1).astype(np.int64)
    columns: dict[str, np.ndarray | list] = {"pred_id": ids, "pred_label": [LABELS[i] for i in ids]}
    for index, name in enumerate(SCORE_COLUMNS):
        columns[name] = probabilities[:, index].astype(np.float64)
    columns["model_version"] = [model_version] * len(ids)
    columns["detected_lang"] = detect_languages(texts)
    return columns


def explanation_cell(explainer: Predictor, text: str) -> str | None:
    """`POST /explain`'s word weights for one text as JSON `[[word, weight], ...]`; None (missing) over its word cap."""
    try:
        words = explain_prediction(explainer, text)["words"]
    except TooManyWords:
        return None
    return json.dumps([[word["word"], round(word["weight"], 4)] for word in words], ensure_ascii=False)


def finish_chunk(chunk: Chunk, scores: Scores, model_version: str, explainer: Predictor | None = None) -> ChunkResult:
    """The chunk's scored rows with their predictions, and its rejected rows by row number.

    With an `explainer` (`--explain`), each scored row also gets `EXPLANATION_COLUMN`.
    Raises `InputError` if a kept column has the name of an output column.
    """
    outputs = (*OUTPUT_COLUMNS, EXPLANATION_COLUMN) if explainer else OUTPUT_COLUMNS
    clash = [name for name in chunk.frame.columns if name in outputs]
    if clash:
        raise InputError(f"input columns {', '.join(clash)} would be overwritten by the scores; drop them with --keep")
    scored = [i for i in range(len(chunk.values)) if i not in scores.rejected]
    frame = chunk.frame.iloc[scored].reset_index(drop=True)
    texts = [str(chunk.values[i]) for i in scored]
    frame = frame.assign(**prediction_columns(scores.probabilities[scored], model_version, texts))
    if explainer:
        frame[EXPLANATION_COLUMN] = [explanation_cell(explainer, text) for text in texts]
    errors = [(chunk.first_row + i, scores.rejected[i]) for i in sorted(scores.rejected)]
    return ChunkResult(frame, errors)
