"""Score a corpus of tweets with the served model: `python -m tweet_sentiment.score INPUT ... --out OUT`.

- `command`: the command itself: plans the shards, scores them chunk by chunk, the summary and exit status.
- `checks`: which rows can be scored (the service's rules for a tweet) and why not.
- `scoring`: the service's `Predictor` on a chunk's texts, and the prediction columns.
- `formats`: reading and writing CSV, JSON lines and Parquet in chunks, through fsspec.
- `shards`: input shards, their outputs and errors files, atomic writes, remote models.
- `progress`: a progress bar on a terminal, log lines elsewhere.
- `beam`: the same scoring as an Apache Beam pipeline (`python -m tweet_sentiment.score.beam`), for Dataflow.
"""
