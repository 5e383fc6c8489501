"""pytest fixtures for code that uses greenlane (loaded automatically through ``pytest11``).

- ``hub``: a fresh hub for the test; the test fails if it leaves timers, fd
  waits or green threads behind.
- ``virtual_clock``: a fresh hub on a ``VirtualClock`` (see ``greenlane.testing``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .._core import Hub
from . import VirtualClock, fresh_hub, virtual_time


@pytest.fixture
def hub() -> Iterator[Hub]:
    """A fresh greenlane hub, checked to be empty at the end of the test."""
    with fresh_hub() as fresh:
        yield fresh


@pytest.fixture
def virtual_clock() -> Iterator[VirtualClock]:
    """A fresh greenlane hub whose time is virtual and jumps when only timers are pending."""
    with virtual_time() as clock:
        yield clock
