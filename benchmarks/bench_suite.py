"""The test-suite view: one generated suite of tests, on aiida-core's fixtures and on ``tempstore``.

    python benchmarks/bench_suite.py [--quick] [--tests N]

Every test records a small calculation: two ``Int`` inputs, a calcfunction node
linked to them, an ``Int`` result created by it and holding a file, then counts
the nodes. The aiida-core suite takes ``aiida_profile_clean`` from its own
fixtures (``aiida.tools.pytest_fixtures``) on ``core.sqlite_dos``, their default
and the fastest backend they support: ``core.sqlite_temp`` is faster to write
but cannot be reset (its ``_clear`` raises ``NotImplementedError``), and
``core.psql_dos`` needs a PostgreSQL server and is slower. Ours takes
``tempstore``. The figure is the wall time of the whole ``pytest`` process, as
a user feels it. Every file both write (aiida-core's profile, database and
repository, our repository) goes to ``/dev/shm`` where it exists: that is the
fastest place aiida-core can have, and keeps the disk out of the comparison.

- ours against aiida-core (target: at least 20x faster);
- ours with ``-n 2`` (pytest-xdist) against ours without (target: at least 1.6x faster),
  beside the same number of tests that take as long each but use no store: what
  xdist itself gains on the machine, whatever the tests do;
- the same, for a suite eight times longer (reported): xdist's fixed cost of a controller
  and two more interpreters weighs less there.

Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, print_table, use_private_temporary_folder

#: The longer suite that shows where xdist pays, as a multiple of the main one.
LONGER_SUITE_FACTOR = 8

OURS = """
import pytest

from pytest_tempstore.storage.entities import Node
from pytest_tempstore.storage.querybuilder import QueryBuilder

INT = "data.core.int.Int."
CALC = "process.calculation.calcfunction.CalcFunctionNode."


@pytest.mark.parametrize("number", range({count}))
def test_records_a_calculation(tempstore, number):
    x = Node(tempstore, INT, attributes={{"value": number}}).store()
    y = Node(tempstore, INT, attributes={{"value": 1}}).store()
    calc = Node(tempstore, CALC, process_type="bench.add")
    calc.add_incoming(x, "input_calc", "x")
    calc.add_incoming(y, "input_calc", "y")
    calc.store()
    result = Node(tempstore, INT, attributes={{"value": number + 1}})
    result.repository.put_object_from_bytes(b"result %d" % number, "result.txt")
    result.add_incoming(calc, "create", "result")
    result.store()
    assert QueryBuilder(backend=tempstore).append(Node).count() == 4
"""

AIIDA = """
import pytest
from aiida import orm
from aiida.common.links import LinkType


@pytest.mark.parametrize("number", range({count}))
def test_records_a_calculation(aiida_profile_clean, number):
    x = orm.Int(number).store()
    y = orm.Int(1).store()
    calc = orm.CalcFunctionNode()
    calc.base.links.add_incoming(x, LinkType.INPUT_CALC, "x")
    calc.base.links.add_incoming(y, LinkType.INPUT_CALC, "y")
    calc.store()
    result = orm.Int(number + 1)
    result.base.repository.put_object_from_bytes(b"result %d" % number, "result.txt")
    result.base.links.add_incoming(calc, LinkType.CREATE, "result")
    result.store()
    assert orm.QueryBuilder().append(orm.Node).count() == 4
"""

#: Tests that take about as long as ours but use no store: what pytest-xdist itself gains here.
PLAIN = """
import pytest


@pytest.mark.parametrize("number", range({count}))
def test_computes(number):
    assert sum(range({work})) >= number
"""

AIIDA_CONFTEST = 'pytest_plugins = ["aiida.tools.pytest_fixtures"]\n'

INI = """\
[pytest]
filterwarnings =
    ignore::DeprecationWarning
    ignore::UserWarning
"""


def write_suites(root: Path, count: int) -> dict[str, Path]:
    """One folder per variant: ours and aiida-core's."""
    folders = {"ours": root / "ours", "aiida": root / "aiida"}
    for name, folder in folders.items():
        folder.mkdir()
        (folder / "pytest.ini").write_text(INI)
        (folder / "test_suite.py").write_text((OURS if name == "ours" else AIIDA).format(count=count))
    (folders["aiida"] / "conftest.py").write_text(AIIDA_CONFTEST)
    return folders


def run_suite(folder: Path, *extra: str) -> float:
    """Wall time of one ``pytest`` process over the suite in ``folder``; every test must pass."""
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
        "-p", "no:randomly", f"--basetemp={folder / 'basetemp'}", *extra,
    ]  # fmt: skip
    aiida_path = tempfile.mkdtemp(dir=folder, prefix="aiida-")
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=folder, env={**os.environ, "AIIDA_PATH": aiida_path, "TMPDIR": str(folder)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"suite in {folder.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def work_for(seconds: float) -> int:
    """The ``n`` for which ``sum(range(n))`` takes about ``seconds`` in this process (best of five)."""
    probe = 200_000
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        sum(range(probe))
        timings.append(time.perf_counter() - start)
    return max(1, round(probe * seconds / min(timings)))


def collect(quick: bool = False, tests: int | None = None) -> list[Row]:
    count = tests or (100 if quick else 500)
    repeat = 1 if quick else 2  # pairs of -n 2 and serial runs, besides the two serial runs above
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="bench-suite-", dir=memory) as work:
        folders = write_suites(Path(work), count)
        # aiida-core once (a run takes a minute), ours just before and after it.
        ours_times = [run_suite(folders["ours"])]
        theirs = run_suite(folders["aiida"], "-p", "no:tempstore")
        ours_times.append(run_suite(folders["ours"]))
        ours = statistics.median(ours_times)
        rows = [
            Row(f"suite of {count} tests vs aiida-core sqlite_dos (wall, s)", ours, theirs, "s",
                "<= 0.05 (>= 20x faster)", ours * 20 <= theirs),
        ]  # fmt: skip
        serial, parallel = [], []
        for _ in range(repeat):  # interleaved, so that load on the machine hits both alike
            parallel.append(run_suite(folders["ours"], "-n", "2"))
            serial.append(run_suite(folders["ours"]))
        serial_s, parallel_s = statistics.median(serial + ours_times), statistics.median(parallel)
        rows.append(
            Row(f"suite of {count} tests, -n 2 vs serial (wall, s)", parallel_s, serial_s, "s",
                "<= 0.625 (>= 1.6x faster)", parallel_s * 1.6 <= serial_s)
        )  # fmt: skip
        # The same number of tests, each computing for as long as one of ours takes in the serial
        # run (start-up included, so a little longer), with no store: xdist's own gain on this machine.
        plain = Path(work) / "plain"
        plain.mkdir()
        (plain / "pytest.ini").write_text(INI)
        (plain / "test_plain.py").write_text(PLAIN.format(count=count, work=work_for(serial_s / count)))
        parallel_plain, serial_plain = run_suite(plain, "-n", "2"), run_suite(plain)
        rows.append(
            Row(f"  {count} tests as long, using no store, -n 2 vs serial", parallel_plain, serial_plain, "s",
                "reported (xdist's own gain)", True)
        )  # fmt: skip
        if not quick:
            # Where -n 2 pays: xdist's fixed cost (a controller and two more interpreters, ~2.5 s
            # here) weighs less against a longer suite of the same tests.
            longer = LONGER_SUITE_FACTOR * count
            (Path(work) / "longer").mkdir()
            folder = write_suites(Path(work) / "longer", longer)["ours"]
            parallel_s, serial_s = run_suite(folder, "-n", "2"), run_suite(folder)
            rows.append(
                Row(f"suite of {longer} tests, -n 2 vs serial (wall, s)", parallel_s, serial_s, "s",
                    "reported", True)
            )  # fmt: skip
    return rows


def main() -> int:
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 tests, one run each")
    parser.add_argument("--tests", type=int, help="number of tests in the suite (default 500)")
    arguments = parser.parse_args()
    rows = collect(arguments.quick, arguments.tests)
    return 0 if print_table("Test suite: tempstore against aiida-core's fixtures", rows) else 1


if __name__ == "__main__":
    sys.exit(main())
