"""`python -m tweet_sentiment.release`: see `tweet_sentiment.release.command`."""

from tweet_sentiment.release.command import main

if __name__ == "__main__":
    raise SystemExit(main())
