"""`python -m tweet_sentiment.report [BASE_REV] --out DIR`: see `tweet_sentiment.release.report`."""

from tweet_sentiment.release.report import main

if __name__ == "__main__":
    raise SystemExit(main())
