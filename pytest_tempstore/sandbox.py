"""Where stores made outside pytest keep their files: ``tempstore-*`` folders with an owner lock beside."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .sweep import SANDBOX_PREFIX, remove_owned_folder, sweep_once, write_owner_lock

__all__ = ["SANDBOX_PREFIX", "new_sandbox_folder", "remove_owned_folder"]


def new_sandbox_folder() -> Path:
    """A new, empty, private temporary folder named ``tempstore-*``, with its owner lock beside it.

    Remove it with :func:`remove_owned_folder`. The lock lets a later process remove
    the folder if this one dies without cleaning up; the first call in a process
    also sweeps such leftovers (see :mod:`pytest_tempstore.sweep`).
    """
    folder = tempfile.mkdtemp(prefix=SANDBOX_PREFIX)
    try:
        write_owner_lock(folder)
    except BaseException:
        os.rmdir(folder)
        raise
    sweep_once(os.path.dirname(folder))
    return Path(folder)
