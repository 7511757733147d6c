"""`report.html` of the drift command: one self-contained page, charts as inline SVG.

Inline SVG, not a plotting library: the page must open offline (no CDN
scripts) and the project needs no extra dependency for a handful of bars.
"""

import html

import numpy as np
from jinja2 import Environment
from sklearn.decomposition import PCA

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.monitor.drift.features import Features

COLOURS = {"reference (training tweets)": "#8c8c8c", "current (query log)": "#d95f02"}
WIDTH, HEIGHT, MARGIN = 520, 220, 36


def bar_chart(title: str, categories: list[str], series: dict[str, list[float]]) -> str:
    """Grouped vertical bars, one group per category, one bar per series."""
    top = max((max(values) for values in series.values()), default=1.0) or 1.0
    group = (WIDTH - 2 * MARGIN) / len(categories)
    bar = group * 0.8 / len(series)
    parts = []
    for i, category in enumerate(categories):
        x0 = MARGIN + i * group + group * 0.1
        for j, (name, values) in enumerate(series.items()):
            h = (HEIGHT - 2 * MARGIN) * values[i] / top
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{HEIGHT - MARGIN - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[name]}"><title>{html.escape(name)}: {values[i]:.3f}</title></rect>'
            )
        if len(categories) <= 12 or i % max(len(categories) // 6, 1) == 0:
            parts.append(
                f'<text x="{x0 + group * 0.4:.1f}" y="{HEIGHT - MARGIN + 14}" font-size="10" '
                f'text-anchor="middle">{html.escape(category)}</text>'
            )
    return _svg(title, parts)


def scatter(title: str, points: dict[str, np.ndarray]) -> str:
    """2-D points per series, scaled to the frame."""
    every = np.vstack(list(points.values()))
    low, high = every.min(axis=0), every.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    parts = []
    for name, xy in points.items():
        scaled = MARGIN + (xy - low) / span * np.array([WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN])
        parts += [
            f'<circle cx="{x:.1f}" cy="{HEIGHT - y:.1f}" r="1.6" fill="{COLOURS[name]}" fill-opacity="0.5"/>'
            for x, y in scaled
        ]
    return _svg(title, parts)


def _svg(title: str, parts: list[str]) -> str:
    legend = "".join(
        f'<rect x="{MARGIN + i * 200}" y="6" width="10" height="10" fill="{colour}"/>'
        f'<text x="{MARGIN + i * 200 + 14}" y="15" font-size="11">{html.escape(name)}</text>'
        for i, (name, colour) in enumerate(COLOURS.items())
    )
    return (
        f'<figure><figcaption>{html.escape(title)}</figcaption><svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img">{legend}{"".join(parts)}</svg></figure>'
    )


def histograms(reference: np.ndarray, current: np.ndarray, bins: np.ndarray, digits: int) -> tuple[list, dict]:
    """Shares of each side per bin, with bin labels."""
    categories = [f"{edge:.{digits}f}" for edge in bins[:-1]]
    series = {
        name: (np.histogram(np.clip(values, bins[0], bins[-1]), bins=bins)[0] / max(len(values), 1)).tolist()
        for name, values in zip(COLOURS, (reference, current), strict=True)
    }
    return categories, series


def charts(reference: Features, current: Features) -> list[str]:
    names = list(COLOURS)
    shares = {
        name: (np.bincount(f.predicted, minlength=len(LABELS)) / max(len(f), 1)).tolist()
        for name, f in zip(names, (reference, current), strict=True)
    }
    figures = [bar_chart("Predicted-label shares", list(LABELS), shares)]
    for title, attribute, bins, digits in (
        ("Confidence (top class probability)", "confidence", np.linspace(1 / 3, 1, 11), 2),
        ("Length in characters", "chars", np.array([0, 20, 40, 60, 80, 100, 120, 140, 200, 280, 2000]), 0),
        ("Share of word pieces unknown to the vocabulary", "unknown_share", np.linspace(0, 0.5, 11), 2),
    ):
        figures.append(
            bar_chart(title, *histograms(getattr(reference, attribute), getattr(current, attribute), bins, digits))
        )
    if current.embedding is not None and reference.embedding is not None:
        rows = np.random.default_rng(0).permutation(len(reference))[: max(len(current), 500)]
        pca = PCA(n_components=2, random_state=0).fit(reference.embedding[rows])
        points = {names[0]: pca.transform(reference.embedding[rows]), names[1]: pca.transform(current.embedding)}
        figures.append(scatter("Sentence embeddings, first two principal components of the reference", points))
    return figures


TEMPLATE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report: {{ verdict }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
.verdict { padding: .6em 1em; border-radius: 6px; color: white; font-size: 1.3em; }
.drift { background: #c0392b; } .ok { background: #2e8b57; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: .3em .6em; }
td.bad { color: #c0392b; font-weight: bold; } .figures { display: flex; flex-wrap: wrap; gap: 1em; }
figcaption { font-weight: bold; } .note { color: #666; }
</style></head><body>
<h1>Drift report</h1>
<p class="verdict {{ 'drift' if result.drift_detected else 'ok' }}">{{ verdict }}</p>
<p>{{ result.predictions }} logged predictions from {{ result.window["from"] }} to {{ result.window["to"] }},
compared with {{ result.reference_tweets }} training tweets; {{ result.feedback }} feedback records.
Model version(s) in the log: {{ result.model_versions | join(", ") }}; reference built for
{{ result.reference_model_version }}.
{% if result.model_versions != [result.reference_model_version] %}<strong>The log was written by another model
than the reference describes: rebuild the reference (dvc repro) for the model you serve.</strong>{% endif %}</p>
<h2>Checks</h2>
<p class="note">Each check is a two-sample test against the training tweets (the non-English share: a
binomial test against its ceiling). It flags drift when its p-value is below its threshold
(alpha {{ result.alpha }} shared by {{ result.checks | length }} checks, so on traffic like the training tweets
a report raises a false alarm at most {{ (result.alpha * 100) | round(1) }}% of the time) and its effect size
reaches the minimum that matters.</p>
<table><tr><th>check</th><th>question</th><th>test</th><th>statistic</th><th>p-value</th><th>effect</th>
<th>drift when</th><th>verdict</th><th>reference</th><th>current</th></tr>
{% for check in result.checks.values() %}<tr><td>{{ check.name }}</td><td>{{ check.question }}</td>
<td>{{ check.test }}</td><td>{{ check.statistic }}</td><td>{{ "%.2g" | format(check.p_value) }}</td>
<td>{{ "%.3g" | format(check.effect) }}</td>
<td>p &lt; {{ "%.3g" | format(check.threshold.p_value) }} and effect &ge; {{ check.threshold.effect }}</td>
<td class="{{ 'bad' if check.drift else '' }}">{{ "drift" if check.drift else "no drift" }}</td>
<td>{{ check.reference }}</td><td>{{ check.current }}</td></tr>{% endfor %}
{% for name, why in result.skipped_checks.items() %}<tr><td>{{ name }}</td><td colspan="9">skipped: {{ why }}</td>
</tr>{% endfor %}
</table>
<div class="figures">{% for figure in figures %}{{ figure | safe }}{% endfor %}</div>
<h2>Live accuracy</h2>
{% if result.live_accuracy %}{% set accuracy = result.live_accuracy %}
<p>{{ accuracy.labelled }} predictions got their true label back: macro recall
<strong>{{ accuracy.macro_recall }}</strong> (TweetEval's metric), accuracy {{ accuracy.accuracy }}.</p>
<table><tr><th>true \\ predicted</th>{% for label in accuracy.labels %}<th>{{ label }}</th>{% endfor %}</tr>
{% for row in accuracy.confusion_matrix %}<tr><th>{{ accuracy.labels[loop.index0] }}</th>
{% for count in row %}<td>{{ count }}</td>{% endfor %}</tr>{% endfor %}</table>
{% else %}<p class="note">No feedback yet: POST /feedback with a request_id and its true label.</p>{% endif %}
<h2>Latency</h2>
<p>Model time of the batches in the window, ms: {% for name, value in result.latency_ms.items() %}{{ name }}
{{ value }}{{ ", " if not loop.last }}{% endfor %}.</p>
</body></html>
"""
)


def render_report(result: dict, reference: Features, current: Features) -> str:
    verdict = "Drift detected" if result["drift_detected"] else "No drift detected"
    drifted = [name for name, check in result["checks"].items() if check["drift"]]
    if drifted:
        verdict += ": " + ", ".join(drifted)
    return TEMPLATE.render(result=result, verdict=verdict, figures=charts(reference, current))
