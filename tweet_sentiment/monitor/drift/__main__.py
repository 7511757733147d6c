"""`python -m tweet_sentiment.monitor.drift`: see `tweet_sentiment.monitor.drift.command`."""

from tweet_sentiment.monitor.drift.command import main

if __name__ == "__main__":
    raise SystemExit(main())
