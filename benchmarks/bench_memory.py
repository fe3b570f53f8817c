"""Memory over a long suite: does RSS stay flat across 10,000 tests that each use ``tempstore``?

    python benchmarks/bench_memory.py [--quick] [--tests N]

A generated suite of N tests (default 10,000), each taking ``tempstore`` and
writing three nodes and one file, runs in
one pytest process; a conftest reads the RSS of the process (``/proc/self/statm``)
as every test starts. The figure is the growth from test 1,000 to the last test.
The baseline is the same suite with the tests' bodies empty and no store, which
shows what pytest itself keeps per test: every test's three reports, for its
terminal summary, about 3 kB a test, so about 27 MB over these 9,000 tests. The
target (under 20 MB) is on what tempstore adds to that.

Exits non-zero when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, print_table, use_private_temporary_folder

GROWTH_LIMIT_MB = 20.0

CONFTEST = """
import json
import os

import pytest

_rss = []
_page = os.sysconf("SC_PAGE_SIZE")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    with open("/proc/self/statm") as handle:
        _rss.append(int(handle.read().split()[1]) * _page)


def pytest_sessionfinish(session):
    with open(os.environ["RSS_LOG"], "w") as output:
        json.dump(_rss, output)
"""

WITH_STORE = """
import io

import pytest

INT = "data.core.int.Int."
CALC = "process.calculation.calcfunction.CalcFunctionNode."


@pytest.mark.parametrize("number", range({count}))
def test_records_nodes_and_a_file(tempstore, number):
    user = tempstore.default_user_id
    tempstore.bulk_insert(
        "node",
        [
            {{"node_type": INT, "attributes": {{"value": number}}, "user_id": user}},
            {{"node_type": CALC, "process_type": "bench.add", "user_id": user}},
            {{"node_type": INT, "attributes": {{"value": number + 1}}, "user_id": user}},
        ],
        allow_defaults=True,
    )
    tempstore.get_repository().put_object_from_filelike(io.BytesIO(b"result %d" % number))
"""


WITHOUT_STORE = """
import pytest


@pytest.mark.parametrize("number", range({count}))
def test_records_nodes_and_a_file(number):
    pass
"""


def rss_log(folder: Path, body: str, count: int) -> list[int]:
    """RSS (bytes) at the start of every test of the suite, run in one pytest process."""
    folder.mkdir()
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_suite.py").write_text(body.format(count=count))
    log = folder / "rss.json"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
        "-p", "no:randomly", f"--basetemp={folder / 'basetemp'}",
    ]  # fmt: skip
    subprocess.run(
        command, cwd=folder, env={**os.environ, "RSS_LOG": str(log)}, check=True, capture_output=True
    )
    return json.loads(log.read_text())


def collect(quick: bool = False, tests: int | None = None) -> list[Row]:
    count = tests or (2_000 if quick else 10_000)
    start = count // 10
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as work:
        ours = rss_log(Path(work) / "ours", WITH_STORE, count)
        baseline = rss_log(Path(work) / "baseline", WITHOUT_STORE, count)
    for label, log in (("tempstore", ours), ("no store", baseline)):
        steps = range(start - 1, count, max(count // 10, 1))
        print(f"RSS ({label}) at tests " + ", ".join(f"{i + 1}: {log[i] / 2**20:.1f}" for i in steps) + " MB")
    growth = (ours[-1] - ours[start - 1]) / 2**20
    pytest_growth = (baseline[-1] - baseline[start - 1]) / 2**20
    added = growth - pytest_growth
    return [
        Row(f"RSS growth, test {start:,} to {count:,} (vs no store)", growth, pytest_growth, "MB",
            "reported (pytest keeps every report)", True),
        Row("  of it added by tempstore (growth - pytest's own)", added, float("nan"), "MB",
            f"< {GROWTH_LIMIT_MB:g} MB", added < GROWTH_LIMIT_MB),
    ]  # fmt: skip


def main() -> int:
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 tests")
    parser.add_argument("--tests", type=int, help="number of tests (default 10,000)")
    arguments = parser.parse_args()
    rows = collect(arguments.quick, arguments.tests)
    return 0 if print_table("Memory over a long suite", rows) else 1


if __name__ == "__main__":
    sys.exit(main())
