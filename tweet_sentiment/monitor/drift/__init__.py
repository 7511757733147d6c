"""Has the served traffic drifted from training? `python -m tweet_sentiment.monitor.drift LOG_DIR --out OUT_DIR`.

- `command`: the command itself: reads a query-log window, runs the checks, writes the report.
- `features`: what the model sees and says per tweet (label, confidence, length, unknown tokens, embedding).
- `reference`: those features on training tweets, written by the `reference` stage.
- `checks`: the statistical tests (label shift, KS, embedding MMD) and their thresholds.
- `language_check`: the share of predictions in other languages than English, against a ceiling.
- `html_report`: the HTML page a person reads.
- `rates`: `python -m tweet_sentiment.monitor.drift.rates`, the measured false-alarm and detection rates.
"""
