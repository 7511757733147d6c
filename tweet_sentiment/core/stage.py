"""Running a stage script: logging, and bad input reported as one clear line."""

import logging
import sys
from collections.abc import Callable

from tweet_sentiment.core.labels import ModelLoadError
from tweet_sentiment.core.params import Params, ParamsError, load_params
from tweet_sentiment.data.cleaning import DataError
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.train.models import ModelSourceError

log = logging.getLogger("tweet_sentiment")


def run_stage(main: Callable[[Params], None]) -> None:
    """Load params and run `main`; known input errors exit 1 with their message only."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        main(load_params())
    except (DataError, InputError, ParamsError, ModelSourceError, ModelLoadError) as error:
        log.error("%s", error)
        sys.exit(1)
