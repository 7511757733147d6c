"""Knowledge distillation: a larger teacher, fine-tuned once (the frozen `teacher` stage), taught to the served model.

- `transfer`: the unlabelled in-domain tweets the teacher labels (TweetEval's other six tasks).
- `soft_targets`: the teacher's logits on disk, one file per set of tweets, read back by `finetune`.
- `teacher`: what the `teacher` stage runs after training: length-sorted inference, scores.
- `student`: the loss mixing the teacher's probabilities into `finetune`'s (Hinton et al. 2015).
"""
