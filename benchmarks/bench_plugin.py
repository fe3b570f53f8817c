"""Plugin benchmarks: what the fixtures and the plugin itself cost a test suite.

    python benchmarks/bench_plugin.py [--quick]

- a generated suite of N tests, each requesting ``tempstore``, against the same
  suite without it, in one pytest process each: setup + teardown overhead per
  test (target: at most 1 ms);
- the same with a seeded state of 1,000 nodes and 100 repository objects, via
  ``@pytest.mark.tempstore(seed=...)`` (target: at most 2 ms per test);
- pytest's startup for a run where no test uses a store, with the plugin against
  ``-p no:tempstore``: median of 20 runs each (target: at most 5 ms slower), with
  ``-q`` and with the report header shown; where ``perf`` runs, also the
  instructions both execute, a figure the machine's load does not move, and what
  they cost at the rate the baseline run executes instructions: for the same two
  runs, for 2,000 tests that use no store (what the plugin's collection hooks add
  per test), and for what the start-up is made of beyond the plugin's own code:
  pytest's loader for plugin modules (the difference to ``--assert=plain``), the
  SQLite library that the header's version line loads, and pytest's reading of
  the package metadata for its ``plugins:`` line.

Per-test figures are steady state: the clock starts at the second test, after
the first store (and SQLAlchemy) has loaded. They are CPU time of the pytest
process (``time.process_time``), which a busy shared machine disturbs far less
than wall time; startup is wall time of whole processes. Every run leaves out hypothesis's
plugin, which is installed in the development environment and adds seconds of
import noise that has nothing to do with this plugin, and pytest-randomly's, which
imports numpy where it is installed. Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

# Run as a script from anywhere: _common sits beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, print_table, use_private_temporary_folder

MS = 1e3

# Times every test of the run (CPU time of the process); written to the file named by TIMINGS.
CONFTEST = """
import json
import os
import time

import pytest

_starts = []
_end = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item):
    _starts.append(time.process_time())
    try:
        return (yield)
    finally:
        _end[:] = [time.process_time()]


def pytest_sessionfinish(session):
    with open(os.environ["TIMINGS"], "w") as output:
        json.dump({"starts": _starts, "end": _end[0] if _end else None}, output)
"""

SEED = """
import io
from datetime import UTC, datetime

import pytest


def seed(store):
    now = datetime(2024, 1, 1, tzinfo=UTC)
    store.bulk_insert(
        "node",
        [
            {"node_type": "data.core.int.Int.", "label": f"n{number}", "attributes": {"value": number},
             "ctime": now, "mtime": now, "user_id": store.default_user_id}
            for number in range(1000)
        ],
        allow_defaults=True,
    )
    repository = store.get_repository()
    for number in range(100):
        repository.put_object_from_filelike(io.BytesIO(f"object {number}".encode() * 64))


pytestmark = pytest.mark.tempstore(seed=seed)
"""


def write_suite(folder: Path, tests: int, *, argument: str, header: str = "") -> None:
    folder.mkdir(parents=True)
    (folder / "conftest.py").write_text(CONFTEST)
    body = "\n\n".join(f"def test_{number}({argument}):\n    pass" for number in range(tests))
    (folder / "test_suite.py").write_text(textwrap.dedent(header) + "\n\n" + body + "\n")


def pytest_command(folder: Path, *extra: str, quiet: bool = True) -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(folder), *(["-q"] if quiet else []),
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:randomly",
        f"--basetemp={folder / 'basetemp'}", "--rootdir", str(folder), *extra,
    ]  # fmt: skip


def seconds_per_test(folder: Path) -> float:
    """Run the suite in ``folder`` in one pytest process; seconds per test from the second one on."""
    timings = folder / "timings.json"
    subprocess.run(
        pytest_command(folder), check=True, capture_output=True, env={**os.environ, "TIMINGS": str(timings)}
    )
    data = json.loads(timings.read_text())
    starts = data["starts"]
    return float((data["end"] - starts[1]) / (len(starts) - 1))


def suite_overhead(
    root: Path, tests: int, repeat: int, *, name: str, header: str = ""
) -> tuple[float, float]:
    """Median seconds per test of the suite with ``tempstore`` and without it."""
    with_store = root / f"{name}-with"
    without = root / f"{name}-without"
    write_suite(with_store, tests, argument="tempstore", header=header)
    write_suite(without, tests, argument="", header="")
    ours, baseline = [], []
    for _ in range(repeat):
        ours.append(seconds_per_test(with_store))
        baseline.append(seconds_per_test(without))
    return statistics.median(ours), statistics.median(baseline)


def startup(root: Path, runs: int, *, quiet: bool = True) -> tuple[float, float]:
    """Median wall time of a run of one test that uses no store: with the plugin, and with it off.

    ``quiet``: with ``-q``, as the benchmark has always measured; else with the report header.
    """
    folder = root / "startup"
    folder.mkdir(exist_ok=True)
    (folder / "test_plain.py").write_text("def test_plain():\n    pass\n")
    # As in a user's environment, where pip compiled the package and pytest caches the plugin's
    # rewritten asserts: bytecode may be written, and one untimed run of each fills the caches.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    variants = (((), []), (("-p", "no:tempstore"), []))
    for extra, _ in variants:
        subprocess.run(
            pytest_command(folder, *extra, quiet=quiet), check=True, capture_output=True, env=environment
        )
    for run in range(runs):
        # Interleaved, so that drift in the machine's speed hits both alike, and in alternating
        # order (ABBA...), so that neither variant always runs first.
        for extra, times in variants if run % 2 == 0 else variants[::-1]:
            start = time.perf_counter()
            command = pytest_command(folder, *extra, quiet=quiet)
            subprocess.run(command, check=True, capture_output=True, env=environment)
            times.append(time.perf_counter() - start)
    (_, with_plugin), (_, without) = variants
    return statistics.median(with_plugin), statistics.median(without)


def write_plain_suite(folder: Path, modules: int, tests_per_module: int) -> None:
    """Tests that use no store, in modules with a helper, a class and a parametrized test each."""
    folder.mkdir()
    functions = "\n".join(
        f"def test_{n}():\n    assert helper({n}) == {n + 1}\n" for n in range(tests_per_module)
    )
    module = (
        "import pytest\n\n\ndef helper(x):\n    return x + 1\n\n\n"
        f"{functions}\n\nclass TestGroup:\n    def test_method(self):\n        assert helper(1) == 2\n\n\n"
        "@pytest.mark.parametrize('n', range(10))\ndef test_parametrized(n):\n    assert n >= 0\n"
    )
    for number in range(modules):
        (folder / f"test_module_{number}.py").write_text(module)


def perf_instructions(command: list[str], repeat: int) -> float | None:
    """Instructions ``command`` executes (``perf stat``, mean of ``repeat`` runs): a figure the
    machine's load does not move. ``None`` where ``perf`` is missing or not permitted.
    """
    # A fixed hash seed: string hashing alone moves a run's count by about a million. Bytecode may
    # be written, as in a user's environment, where pytest caches the plugin's rewritten modules.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONHASHSEED"] = "0"
    perf = ["perf", "stat", "-e", "instructions:u", "-x", ",", "-r", str(repeat)]
    try:
        completed = subprocess.run(
            [*perf, *command], capture_output=True, text=True, env=environment, check=True
        )
        return float(completed.stderr.strip().splitlines()[-1].split(",")[0])
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


def instructions(
    folder: Path, *extra: str, quiet: bool = True, repeat: int = 5
) -> tuple[float, float] | None:
    """Instructions executed by a run over ``folder`` with the plugin and with ``-p no:tempstore``."""
    ours = perf_instructions(pytest_command(folder, *extra, quiet=quiet), repeat)
    baseline = perf_instructions(pytest_command(folder, *extra, "-p", "no:tempstore", quiet=quiet), repeat)
    return None if ours is None or baseline is None else (ours, baseline)


def python_instructions(code: str, baseline_code: str, repeat: int = 5) -> tuple[float, float] | None:
    """Instructions of ``python -c code`` and of ``python -c baseline_code``."""
    ours = perf_instructions([sys.executable, "-c", code], repeat)
    baseline = perf_instructions([sys.executable, "-c", baseline_code], repeat)
    return None if ours is None or baseline is None else (ours, baseline)


def instruction_row(task: str, counted: tuple[float, float], seconds_per_instruction: float) -> Row:
    """A row of instruction counts; the extra ones are priced at the baseline startup's own rate."""
    ours, baseline = counted
    more = (ours / baseline - 1) * 100
    # A time the load on the machine scales rather than swamps.
    estimate = (ours - baseline) * seconds_per_instruction * MS
    return Row(task, ours / 1e6, baseline / 1e6, "M", f"reported ({more:+.1f} %, ~{estimate:.1f} ms)", True)


def collect(quick: bool = False) -> list[Row]:
    """Every row of this benchmark (``--quick``: fewer tests and runs)."""
    tests, repeat, runs = (100, 1, 5) if quick else (500, 3, 20)

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as work:
        root = Path(work)
        ours, baseline = suite_overhead(root, tests, repeat, name="empty")
        overhead = (ours - baseline) * MS
        rows.append(
            Row(f"{tests} tests with tempstore, per test (ms)", ours * MS, baseline * MS, "ms",
                f"overhead {overhead:.3f} ms <= 1 ms", overhead <= 1.0)
        )  # fmt: skip
        ours, baseline = suite_overhead(root, tests, repeat, name="seeded", header=SEED)
        overhead = (ours - baseline) * MS
        rows.append(
            Row(f"{tests} tests, seeded 1,000 nodes + 100 objects (ms)", ours * MS, baseline * MS, "ms",
                f"overhead {overhead:.3f} ms <= 2 ms", overhead <= 2.0)
        )  # fmt: skip
        ours, baseline = startup(root, runs)
        slower = (ours - baseline) * MS
        rows.append(
            Row(f"startup, no test uses a store, median of {runs} (ms)", ours * MS, baseline * MS, "ms",
                f"slower by {slower:.1f} ms <= 5 ms", slower <= 5.0)
        )  # fmt: skip
        ours_shown, baseline_shown = startup(root, runs, quiet=False)
        slower = (ours_shown - baseline_shown) * MS
        rows.append(
            Row(f"the same, report header shown, median of {runs} (ms)", ours_shown * MS, baseline_shown * MS,
                "ms", f"slower by {slower:.1f} ms <= 5 ms", slower <= 5.0)
        )  # fmt: skip
        counted = instructions(root / "startup")
        if counted is not None:
            rate = baseline / counted[1]  # seconds per instruction of the baseline's startup
            task = "startup, instructions executed (millions, perf stat)"
            rows.append(instruction_row(task, counted, rate))
            counted = instructions(root / "startup", quiet=False)
            if counted is not None:
                rows.append(instruction_row("the same, report header shown (no -q)", counted, rate))
            # What the two runs above are made of, beyond the plugin's own code.
            counted = instructions(root / "startup", "--assert=plain")
            if counted is not None:
                task = "startup without pytest's loader for plugins (--assert=plain)"
                rows.append(instruction_row(task, counted, rate))
            # Each beside a baseline that has loaded what a pytest run has by then.
            loaded = "import pytest, pytest_tempstore"
            counted = python_instructions(f"{loaded}, pytest_tempstore.storage.driver", loaded)
            if counted is not None:
                task = "the header's SQLite version: the driver and its library"
                rows.append(instruction_row(task, counted, rate))
            # pluggy reads a plugin's name and version through importlib.metadata, which parses
            # the whole METADATA file, long description included, for each.
            loaded = "import importlib.metadata as m; d = m.distribution('pytest-tempstore'); d.metadata"
            counted = python_instructions(f"{loaded}; d.metadata['Name']; d.version", loaded)
            if counted is not None:
                task = "the header's plugins line: our package metadata, read twice"
                rows.append(instruction_row(task, counted, rate))
            # 20 modules of 100 tests: 89 functions, a method, 10 parametrized.
            write_plain_suite(root / "plain", 20, 89)
            counted = instructions(root / "plain", repeat=2 if quick else 5)
            if counted is not None:
                rows.append(instruction_row("2,000 tests that use no store", counted, rate))
    return rows


def main() -> int:
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer tests and runs, for a smoke check")
    options = parser.parse_args()
    met = print_table(
        "pytest plugin (baseline: the same suite without tempstore / with -p no:tempstore)",
        collect(options.quick),
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
