"""Fixtures of the auth tests: the secret scan runs at the end of every test that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from authhelpers import SecretScan


@pytest.fixture
def scan() -> Iterator[SecretScan]:
    s = SecretScan()
    yield s
    s.check()
