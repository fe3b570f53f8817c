"""Running the suites in ``suites/`` in their own pytest processes, with and without the AiiDA mode.

Every run is a separate process: aiida-core keeps its configuration, profile
and manager in globals, so runs in one process would leak into each other. The
runs of a session start together and are collected when first needed, which
keeps the total time close to that of the longest one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

SUITES = Path(__file__).parent / "suites"
#: The plugin, named explicitly: these runs load no other installed plugin.
PLUGIN_MODULE = "pytest_tempstore.plugin"

#: The suites' own ini: warnings are errors, except the ones aiida-core itself raises.
SUITE_INI = """\
[pytest]
filterwarnings =
    error
    ignore:Creating AiiDA configuration folder:UserWarning
    ignore:Object of type .* not in session:sqlalchemy.exc.SAWarning
    ignore::aiida.common.warnings.AiidaDeprecationWarning
"""

#: The ini line that turns the mode on; the deprecated suites set it, and the command line overrides it there.
MODE_IN_INI = "tempstore_aiida = true\n"

#: name -> (conftest source, {test file name in the run: source}, extra command-line arguments)
RUNS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "modern-off": ("modern_conftest.py", {"test_modern.py": "modern_fixtures.py"}, ()),
    "modern-on": (
        "modern_conftest.py",
        {
            "test_modern.py": "modern_fixtures.py",
            "test_open_statement.py": "open_statement.py",
            "test_other_processes.py": "other_processes.py",
        },
        ("--tempstore-aiida",),
    ),
    "modern-on-xdist": (
        "modern_conftest.py",
        {"test_modern.py": "modern_fixtures.py", "test_open_statement.py": "open_statement.py"},
        ("-p", "xdist.plugin", "--tempstore-aiida", "-n", "2", "--dist", "loadfile"),
    ),
    # The mode is on in their ini file: turned off there by the command line, left on here.
    "deprecated-off": (
        "deprecated_conftest.py",
        {"test_deprecated.py": "deprecated_fixtures.py"},
        ("--no-tempstore-aiida",),
    ),
    "deprecated-on": ("deprecated_conftest.py", {"test_deprecated.py": "deprecated_fixtures.py"}, ()),
}


@dataclass(frozen=True)
class SuiteRun:
    """The result of one run: exit code, terminal output and the outcome of each test."""

    returncode: int
    output: str
    #: test id ("module::name") -> "passed", "failed", "error" or "skipped"
    outcomes: dict[str, str]
    #: test id -> reason, for the skipped tests
    skip_reasons: dict[str, str]


def _outcomes(junit_xml: Path) -> tuple[dict[str, str], dict[str, str]]:
    outcomes: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        # "test_modern::test_x", or "test_modern.TestClass::test_y" for a test in a class
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                if child.tag == "skipped":
                    reasons[test_id] = child.get("message", "")
                break
        # A test with a failing teardown is reported twice; the worse outcome wins.
        if outcomes.get(test_id, "passed") == "passed":
            outcomes[test_id] = outcome
    return outcomes, reasons


class SuiteLauncher:
    """Starts every run at once and hands out each one's result when it is asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._processes: dict[str, tuple[subprocess.Popen[str], Path]] = {}
        self._results: dict[str, SuiteRun] = {}

    def start(self, name: str) -> None:
        conftest, files, arguments = RUNS[name]
        folder = self.root / name
        folder.mkdir()
        shutil.copy(SUITES / conftest, folder / "conftest.py")
        for target, source in files.items():
            shutil.copy(SUITES / source, folder / target)
        (folder / "pytest.ini").write_text(
            SUITE_INI + (MODE_IN_INI if conftest.startswith("deprecated") else "")
        )
        # Only the plugins a run names: a second or two less per process than loading every installed one.
        # Temporary files too: aiida-core leaves an empty folder per temp profile it makes.
        (folder / "tmp").mkdir()
        environment = dict(
            os.environ,
            AIIDA_PATH=str(folder / "aiida"),
            PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
            TMPDIR=str(folder / "tmp"),
        )
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            PLUGIN_MODULE,
            "-p",
            "no:cacheprovider",
            "-rA",
            f"--junitxml={folder / 'junit.xml'}",
            # Under the run's folder, so that anything a run starts can be traced back to it.
            f"--basetemp={folder / 'basetemp'}",
            *arguments,
        ]
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._processes[name] = (process, folder)

    def result(self, name: str) -> SuiteRun:
        if name not in self._results:
            process, folder = self._processes[name]
            output, _ = process.communicate(timeout=600)
            outcomes, reasons = _outcomes(folder / "junit.xml")
            self._results[name] = SuiteRun(process.returncode, output, outcomes, reasons)
        return self._results[name]

    def stop(self) -> None:
        for process, _ in self._processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory: pytest.TempPathFactory):
    """Every run in :data:`RUNS`, started together."""
    root = tmp_path_factory.mktemp("aiida-suites")
    launcher = SuiteLauncher(root)
    for name in RUNS:
        launcher.start(name)
    yield launcher
    launcher.stop()
