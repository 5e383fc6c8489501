"""greenlane's configuration: every ``GREENLANE_*`` environment variable, read in one place."""

from __future__ import annotations

from ._core import Config, read_config

__all__ = ["Config", "read_config"]
