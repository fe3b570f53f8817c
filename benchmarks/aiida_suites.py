"""Real AiiDA plugins' test suites, run with and without --tempstore-aiida, compared test by test.

    python benchmarks/aiida_suites.py CHECKOUT [CHECKOUT ...] [--python PYTHON] [--repeat N]

Each CHECKOUT is a clone of a plugin's repository (its PyPI sdist usually lacks
the tests), installed in the environment of PYTHON (default: this interpreter)
together with its test dependencies. The checkouts may also come from the
environment variable ``TEMPSTORE_AIIDA_SUITES`` (separated by the path
separator). Each suite runs from its checkout, so that its own pytest settings
apply, first without and then with the mode; the outcome of every test is read
from JUnit XML and the two runs are compared. ``--repeat`` alternates the runs
that many times and keeps the fastest of each mode.

Exits non-zero when a test's outcome differs other than by a skip of the mode.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

MODE_SKIP_MARK = "--tempstore-aiida"


@dataclass(frozen=True)
class Run:
    """One pytest run of a suite: wall time, outcome per test, skip reasons and the mode's summary."""

    seconds: float
    returncode: int
    outcomes: dict[str, str]
    reasons: dict[str, str]
    output: str

    @property
    def resets(self) -> tuple[int, float] | None:
        """(number of resets, mean ms) from the mode's terminal summary."""
        found = re.search(r"^resets: (\d+), mean (\d+\.\d+) ms$", self.output, re.MULTILINE)
        return None if found is None else (int(found.group(1)), float(found.group(2)))


def read_outcomes(junit_xml: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Outcome ("passed", "failed", "error", "skipped") and skip reason of every test in a JUnit XML file."""
    outcomes: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                outcome = "failed" if child.tag == "failure" else child.tag
                if child.tag == "skipped":
                    reasons[test_id] = child.get("message", "")
                break
        if outcomes.get(test_id, "passed") == "passed":  # a failing teardown adds a second entry
            outcomes[test_id] = outcome
    return outcomes, reasons


def run_suite(python: str, checkout: Path, work: Path, *, mode: bool, extra: list[str]) -> Run:
    """Run the suite of ``checkout`` once, in a fresh AiiDA folder, and read its outcomes."""
    label = "on" if mode else "off"
    folder = Path(tempfile.mkdtemp(prefix=f"{checkout.name}-{label}-", dir=work))
    junit = folder / "junit.xml"
    environment = dict(os.environ, AIIDA_PATH=str(folder / "aiida"))
    command = [
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        f"--basetemp={folder / 'basetemp'}",
        "-q",
        *(["--tempstore-aiida"] if mode else []),
        *extra,
    ]
    start = time.perf_counter()
    completed = subprocess.run(
        command, cwd=checkout, env=environment, capture_output=True, text=True, check=False, timeout=3600
    )
    seconds = time.perf_counter() - start
    outcomes, reasons = read_outcomes(junit) if junit.exists() else ({}, {})
    return Run(seconds, completed.returncode, outcomes, reasons, completed.stdout + completed.stderr)


@dataclass(frozen=True)
class Comparison:
    """The two modes of one suite side by side."""

    name: str
    off: Run
    on: Run

    @property
    def differences(self) -> dict[str, tuple[str, str]]:
        tests = self.off.outcomes.keys() | self.on.outcomes.keys()
        return {
            test: (self.off.outcomes.get(test, "absent"), self.on.outcomes.get(test, "absent"))
            for test in sorted(tests)
            if self.off.outcomes.get(test) != self.on.outcomes.get(test)
        }

    @property
    def mode_skips(self) -> dict[str, tuple[str, str]]:
        """The differences that are the mode's own stated skips."""
        return {
            test: outcomes
            for test, outcomes in self.differences.items()
            if outcomes[1] == "skipped" and MODE_SKIP_MARK in self.on.reasons.get(test, "")
        }

    @property
    def unexplained(self) -> dict[str, tuple[str, str]]:
        return {test: pair for test, pair in self.differences.items() if test not in self.mode_skips}


def _tally(outcomes: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return " ".join(
        f"{counts[key]}{key[0]}" for key in ("passed", "failed", "error", "skipped") if key in counts
    )


def print_report(comparisons: list[Comparison]) -> None:
    header = (
        f"{'suite':<16} {'tests':>5} {'same':>5} {'mode skips':>10} {'other diffs':>11} "
        f"{'off (s)':>8} {'on (s)':>8} {'speed-up':>8} {'resets':>7} {'mean reset':>10}  outcomes off | on"
    )
    print(header)
    print("-" * len(header))
    for comparison in comparisons:
        tests = len(comparison.off.outcomes.keys() | comparison.on.outcomes.keys())
        resets = comparison.on.resets
        reset_text = ("-", "-") if resets is None else (str(resets[0]), f"{resets[1]:.3f} ms")
        speed_up = comparison.off.seconds / comparison.on.seconds
        print(
            f"{comparison.name:<16} {tests:>5} {tests - len(comparison.differences):>5} "
            f"{len(comparison.mode_skips):>10} {len(comparison.unexplained):>11} "
            f"{comparison.off.seconds:>8.1f} {comparison.on.seconds:>8.1f} {speed_up:>7.2f}x "
            f"{reset_text[0]:>7} {reset_text[1]:>10}  "
            f"{_tally(comparison.off.outcomes)} | {_tally(comparison.on.outcomes)}"
        )
    for comparison in comparisons:
        for label, run in (("off", comparison.off), ("on", comparison.on)):
            if not run.outcomes:
                tail = run.output[-2000:]
                print(f"  {comparison.name} ({label}): no test ran (exit {run.returncode}):\n{tail}")
        for test, (off, on) in comparison.differences.items():
            why = comparison.on.reasons.get(test, "")
            print(f"  {comparison.name}: {test}: {off} -> {on}{f' ({why})' if why else ''}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkouts", nargs="*", type=Path, help="clones of AiiDA plugins' repositories")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the plugins installed")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two runs this many times")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: more pytest arguments")
    arguments = parser.parse_args()
    checkouts = arguments.checkouts or [
        Path(path) for path in os.environ.get("TEMPSTORE_AIIDA_SUITES", "").split(os.pathsep) if path
    ]
    if not checkouts:
        parser.error("name at least one checkout (or set TEMPSTORE_AIIDA_SUITES)")
    extra = [argument for argument in arguments.pytest_args if argument != "--"]
    comparisons = []
    with tempfile.TemporaryDirectory(prefix="tempstore-aiida-suites-") as scratch:
        work = Path(scratch)
        for checkout in checkouts:
            runs: dict[bool, list[Run]] = {False: [], True: []}
            for _ in range(arguments.repeat):
                for mode in (False, True):
                    runs[mode].append(
                        run_suite(
                            arguments.python,
                            checkout.resolve(),
                            work,
                            mode=mode,
                            extra=extra,
                        )
                    )
            fastest = {mode: min(found, key=lambda run: run.seconds) for mode, found in runs.items()}
            comparisons.append(Comparison(checkout.resolve().name, fastest[False], fastest[True]))
    print_report(comparisons)
    failed = any(comparison.unexplained or not comparison.on.outcomes for comparison in comparisons)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
