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
from datetime import UTC, datetime, timedelta
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


INT = "data.core.int.Int."
CALC = "process.calculation.calcfunction.CalcFunctionNode."


def provenance_rows(count: int, user_id: int, files: Callable[[int, bool], dict]) -> list[dict]:
    """Node rows in the shape of a provenance graph: every fourth node a calculation, the rest data.

    ``files(index, is_calc)`` gives each node's ``repository_metadata``.
    """
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for index in range(count):
        is_calc = index % 4 == 3
        rows.append(
            {
                "node_type": CALC if is_calc else INT,
                "process_type": "bench.add" if is_calc else None,
                "label": f"node-{index}",
                "ctime": start + timedelta(seconds=index),
                "mtime": start + timedelta(seconds=index),
                "attributes": {"sealed": True} if is_calc else {"value": index},
                "extras": {"index": index},
                "repository_metadata": files(index, is_calc),
                "user_id": user_id,
            }
        )
    return rows


def provenance_links(ids: list[int]) -> list[dict]:
    """The links of ``provenance_rows``' nodes (by their ids): two inputs and a result per calculation."""
    links = []
    for index in range(3, len(ids), 4):
        calc_id = ids[index]
        links += [
            {"input_id": ids[index - 3], "output_id": calc_id, "type": "input_calc", "label": "x"},
            {"input_id": ids[index - 2], "output_id": calc_id, "type": "input_calc", "label": "y"},
            {"input_id": calc_id, "output_id": ids[index - 1], "type": "create", "label": "result"},
        ]
    return links


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
