"""Where the tweets come from and what they become: sources, the user's CSV, cleaning and counting,
tokenized splits, emoji augmentation.
"""
