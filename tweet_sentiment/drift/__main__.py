"""`python -m tweet_sentiment.drift`: see `tweet_sentiment.drift.command`."""

from tweet_sentiment.drift.command import main

if __name__ == "__main__":
    raise SystemExit(main())
