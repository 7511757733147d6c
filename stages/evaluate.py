"""DVC stage `evaluate`: score what is served on TweetEval val and test, and under drift.

It scores `models/serving`, the runtime the `optimize` stage chose and
`package` ships, through `Predictor`, the service's own prediction path: these
are the pipeline's headline metrics. The fp32 model's scores stand beside
them in `metrics/optimize`. The user's held-out tweets (`data.eval_share`),
when `download` wrote some, are scored the same way as a third split, `custom`.
A split with emoji in some tweets (the `emoji` package's count: 809 of TweetEval
test's 12,284) is also scored in two parts, `<split>_emoji` and
`<split>_no_emoji`, each with its tweet count. Validation has no emoji, so
`val_synthetic_emoji` scores its tweets with emoji drawn for their labels as
training's are (another seed): the split to choose `tokenize.emoji_share` on,
never test. The robustness table scores a seeded sample of the test split under
each shift of `tweet_sentiment.evaluate.robustness`.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.evaluate.run import evaluate_served

if __name__ == "__main__":
    run_stage(evaluate_served)
