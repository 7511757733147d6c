"""The one error of the input layer: a file cannot be read as asked, and the message says why and the fix."""


class InputError(ValueError):
    """A file cannot be read as asked (missing, an unreadable container, a repeated column...); the message says why."""
