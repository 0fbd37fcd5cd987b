"""Helpers for the tests, not tests: the local Hub server, a market served over HTTP, expected rows,
the freshness replay, and the small builders several test modules share. Fixtures live in conftest.py."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
