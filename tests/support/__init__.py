"""Helpers the tests share: a real server, a storage emulator, the scoring command, synthetic drift data.

Fixtures stay in `tests/conftest.py`; what a test module imports from another lives here.
"""
