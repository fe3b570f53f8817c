"""Shared helpers for the benchmark scripts: timing and a ratio table.

Every benchmark measures our code and a baseline in the same run and reports the
ratio, because absolute times drift on a shared machine.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def use_private_temporary_folder() -> str:
    """Send this process's and its children's temporary files to a new folder, removed at exit.

    aiida-core leaves folders behind (its ``SqliteTempBackend`` profiles make an
    empty ``mkdtemp()`` folder each and never remove it), and so would a
    benchmark stopped half-way; this way a run leaves nothing in the system's
    temporary folder.
    """
    folder = tempfile.mkdtemp(prefix="tempstore-bench-")
    atexit.register(shutil.rmtree, folder, True)
    tempfile.tempdir = folder
    os.environ["TMPDIR"] = folder
    return folder


class Bytes:
    """A minimal binary stream over bytes, so that puts measure the repository, not ``io.BytesIO`` copies."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def read(self, size: int = -1) -> bytes:
        content, self._content = self._content, b""
        return content


def median_seconds(
    work: Callable[[], object], *, repeat: int = 7, setup: Callable[[], object] | None = None
) -> float:
    """Median wall time of ``work()`` over ``repeat`` runs, each after an untimed ``setup()``."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Row:
    """One line of a benchmark table: our figure, the baseline's, and the target on their ratio."""

    task: str
    ours: float
    baseline: float
    unit: str
    target: str
    ok: bool

    @property
    def ratio(self) -> float:
        """ours / baseline; NaN where there is no baseline (a figure reported on its own)."""
        return self.ours / self.baseline if self.baseline else float("inf")


def number(value: float, width: int) -> str:
    """``value`` in ``width`` characters, or a dash where it is NaN (no baseline)."""
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.4g}"


def print_table(title: str, rows: list[Row]) -> bool:
    """Print the rows as a table; return whether every target was met."""
    print(f"\n{title}")
    header = f"{'task':<52} {'ours':>12} {'baseline':>12} {'ratio':>8}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        mark = "ok" if row.ok else "MISSED"
        ratio = f"{'-':>8}" if math.isnan(row.ratio) else f"{row.ratio:>8.3f}"
        print(
            f"{row.task:<52} {number(row.ours, 10)}{row.unit:>2} {number(row.baseline, 10)}{row.unit:>2} "
            f"{ratio}  {row.target} [{mark}]"
        )
    return all(row.ok for row in rows)
