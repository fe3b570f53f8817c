"""AiiDA-mode benchmarks: the reset, and a 200-test suite on aiida-core's fixtures, with and without the mode.

    python benchmarks/bench_aiida_mode.py [--quick]

- per-test reset: ``profile.reset_storage()`` (what ``aiida_profile_clean`` calls) on the
  mode's in-memory profile against aiida-core's own on its default ``core.sqlite_dos``,
  each followed by storing one node (so that the cost of reloading the storage counts);
- a generated suite of 200 tests that each take ``aiida_profile_clean`` and store a few
  nodes, a group and a file: wall time of the whole pytest run in each mode.

Targets: reset <= 1 ms; suite >= 3x faster. Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

from _common import Row, print_table, use_private_temporary_folder
from aiida_suites import read_outcomes

SUITE_TEST = """
import pytest
from aiida import orm


@pytest.mark.parametrize("number", range({count}))
def test_stores_nodes_a_group_and_a_file(aiida_profile_clean, number):
    assert orm.QueryBuilder().append(orm.Node).count() == 0
    nodes = [orm.Int(number).store(), orm.Float(number / 2).store(), orm.Str(str(number)).store()]
    group = orm.Group(label=f"group-{{number}}").store()
    group.add_nodes(nodes)
    orm.SinglefileData.from_string(f"content {{number}}", filename="file.txt").store()
    assert orm.QueryBuilder().append(orm.Node).count() == 4
"""

SUITE_INI = """\
[pytest]
filterwarnings =
    error
    ignore:Creating AiiDA configuration folder:UserWarning
"""


def time_suite(folder: Path, *, mode: bool) -> tuple[float, dict[str, str], str]:
    """Wall time of one pytest run of the generated suite, its outcomes and its output."""
    junit = folder / f"junit-{mode}.xml"
    environment = dict(
        os.environ, AIIDA_PATH=str(folder / f"aiida-{mode}"), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "pytest_tempstore.plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        f"--basetemp={folder / f'basetemp-{mode}'}",
        *(["--tempstore-aiida"] if mode else []),
    ]
    start = time.perf_counter()
    completed = subprocess.run(
        command, cwd=folder, env=environment, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    outcomes, _ = read_outcomes(junit) if junit.exists() else ({}, {})
    return seconds, outcomes, completed.stdout + completed.stderr


def time_resets(count: int) -> dict[str, tuple[float, float]]:
    """Mean ms of a reset alone and of a reset followed by storing one node, ours and aiida-core's.

    Runs in this process, on aiida-core's own fixture factories (the undecorated functions):
    the mode's in-memory profile against aiida-core's default ``core.sqlite_dos``.
    """
    warnings.simplefilter("ignore")
    from aiida import orm
    from aiida.tools.pytest_fixtures.configuration import aiida_config_factory, aiida_profile_factory

    from pytest_tempstore.aiida.fixtures import ModeState, wrap_modern_factory

    config_factory = aiida_config_factory._get_wrapped_function()()
    profile_factory = aiida_profile_factory._get_wrapped_function()()

    def mean_ms(profile, repeat: int) -> tuple[float, float]:
        profile.reset_storage()
        orm.Int(0).store()
        reset_alone = 0.0
        start = time.perf_counter()
        for number in range(repeat):
            before = time.perf_counter()
            profile.reset_storage()
            reset_alone += time.perf_counter() - before
            orm.Int(number).store()
        total = time.perf_counter() - start
        return 1000 * reset_alone / repeat, 1000 * total / repeat

    with config_factory(pathlib.Path(tempfile.mkdtemp())) as config:
        with wrap_modern_factory(profile_factory, ModeState("benchmark"))(config) as profile:
            ours = mean_ms(profile, count)
        with profile_factory(config) as profile:
            baseline = mean_ms(profile, max(count // 10, 5))
    return {"reset": (ours[0], baseline[0]), "reset and store": (ours[1], baseline[1])}


def collect(quick: bool = False) -> list[Row]:
    """Every row of this benchmark (``--quick``: 50 tests instead of 200, fewer resets)."""
    count = 50 if quick else 200
    rows = []
    with tempfile.TemporaryDirectory(prefix="tempstore-bench-aiida-") as scratch:
        folder = Path(scratch)
        os.environ["AIIDA_PATH"] = str(folder / "aiida-here")
        (folder / "conftest.py").write_text('pytest_plugins = ["aiida.tools.pytest_fixtures"]\n')
        (folder / "pytest.ini").write_text(SUITE_INI)
        (folder / "test_suite.py").write_text(textwrap.dedent(SUITE_TEST.format(count=count)))

        baseline_seconds, baseline_outcomes, _ = time_suite(folder, mode=False)
        ours_seconds, ours_outcomes, output = time_suite(folder, mode=True)
        same = ours_outcomes == baseline_outcomes and set(ours_outcomes.values()) == {"passed"}
        reported = [line for line in output.splitlines() if line.startswith("resets:")]
        print(f"suite of {count} tests: same outcomes: {same}; with the mode: {', '.join(reported)}")
        rows.append(
            Row(
                f"suite of {count} aiida_profile_clean tests (wall, s)",
                ours_seconds,
                baseline_seconds,
                "s",
                "<= 0.333 (>= 3x faster)",
                same and ours_seconds * 3 <= baseline_seconds,
            )
        )
        resets = time_resets(count)
        ours_reset, baseline_reset = resets["reset"]
        rows.append(
            Row(
                "reset_storage() (mean, ms)",
                ours_reset,
                baseline_reset,
                "ms",
                "ours <= 1 ms",
                ours_reset <= 1,
            )
        )
        ours_both, baseline_both = resets["reset and store"]
        rows.append(
            Row(
                "reset_storage() + store one Int (mean, ms)",
                ours_both,
                baseline_both,
                "ms",
                "(for reference)",
                True,
            )
        )
    return rows


def main() -> int:
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50 tests instead of 200, fewer resets")
    arguments = parser.parse_args()
    rows = collect(arguments.quick)
    ok = print_table("AiiDA mode (--tempstore-aiida) against aiida-core's own fixtures", rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
