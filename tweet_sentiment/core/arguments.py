"""Argument types that the package's commands share (`tweet_sentiment.monitor.drift`, `tweet_sentiment.score`)."""

import argparse


def positive_int(value: str) -> int:
    """`value` as a whole number of at least 1; argparse's usage error (exit status 2) otherwise."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return number


def share(value: str) -> float:
    """`value` as a number strictly between 0 and 1; argparse's usage error (exit status 2) otherwise."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a share between 0 and 1")
    return number
