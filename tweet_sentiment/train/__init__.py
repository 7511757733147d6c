"""Fine-tuning: loading models (the embedded wheels too), the Trainer, the weight average, DDP, and
distillation from a teacher.
"""
