"""Runs whose results land in the docs (the recipe sweep, the live loop, the docs sentences); importable, so
their tests import them as modules."""
