"""`python -m tweet_sentiment.score`: see `tweet_sentiment.score.command`."""

from tweet_sentiment.score.command import main

if __name__ == "__main__":
    raise SystemExit(main())
