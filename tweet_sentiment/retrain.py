"""`python -m tweet_sentiment.retrain`: see `tweet_sentiment.monitor.live.retrain`."""

from tweet_sentiment.monitor.live.retrain import main

if __name__ == "__main__":
    raise SystemExit(main())
