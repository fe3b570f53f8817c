"""Where stores made outside pytest keep their files."""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["SANDBOX_PREFIX", "new_sandbox_folder"]

SANDBOX_PREFIX = "tempstore-"


def new_sandbox_folder() -> Path:
    """A new, empty, private temporary folder named ``tempstore-*``."""
    return Path(tempfile.mkdtemp(prefix=SANDBOX_PREFIX))
