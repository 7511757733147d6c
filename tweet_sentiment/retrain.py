"""`python -m tweet_sentiment.retrain`: see `tweet_sentiment.live.retrain`."""

from tweet_sentiment.live.retrain import main

if __name__ == "__main__":
    raise SystemExit(main())
