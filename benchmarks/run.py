"""Every benchmark in one run and one table: our figure, the baseline measured in the same run, the ratio.

    python benchmarks/run.py [--quick] [--json PATH] [--plot PATH] [--only AREA ...] [--tmpdir DIR]

Each area's benchmark runs in a child interpreter of this one (its own
``AIIDA_PATH``, so aiida-core's profiles stay apart), in the order of ``PLAN``;
its rows come back as JSON and are printed together at the end, with the
machine they ran on and its load. Baselines are plain ``sqlite3``, ``hashlib``
and file loops (the physical limit) and aiida-core 2.9.4 where it is installed.

``--quick`` shrinks every area for a smoke check (two to three minutes). The full
run writes the scaling plot to ``benchmarks/scaling.png`` unless ``--plot``
names another file. Temporary files go to ``/dev/shm`` where it exists (both
sides alike; ``--tmpdir`` to choose), so that the disk of a shared machine
does not decide the figures. Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, number

from pytest_tempstore.storage import driver

HERE = Path(__file__).resolve().parent

# (area, module, arguments of its collect() for the full run, for --quick)
PLAN: list[tuple[str, str, dict, dict]] = [
    ("storage", "bench_storage", {"quick": False}, {"quick": True}),
    ("repository", "bench_repository", {"quick": True}, {"quick": True}),
    ("query", "bench_query", {}, {}),
    ("archive", "bench_archive", {"large": False}, {"quick": True, "large": False}),
    ("plugin", "bench_plugin", {"quick": False}, {"quick": True}),
    ("aiida mode", "bench_aiida_mode", {"quick": False}, {"quick": True}),
    ("suite", "bench_suite", {}, {"quick": True}),
    ("memory", "bench_memory", {}, {"quick": True}),
    ("scaling", "bench_scaling", {}, {"quick": True}),
]


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        # What the stores ran on: the standard library's SQLite, or pysqlite3's with JSONB.
        "store sqlite": driver.describe(),
        "sqlalchemy": version("SQLAlchemy"),
        "aiida-core": version("aiida-core"),
    }


def run_child(module: str, arguments: dict, work: Path) -> tuple[list[Row], float, str]:
    """Run ``module.collect(**arguments)`` in a child interpreter; its rows, seconds and output."""
    out = work / f"{module}.json"
    # Its own temporary folder too, inside ours: whatever a script leaves there goes with it.
    environment = dict(
        os.environ,
        AIIDA_PATH=tempfile.mkdtemp(dir=work, prefix="aiida-"),
        TMPDIR=tempfile.mkdtemp(dir=work, prefix=f"{module}-"),
    )
    command = [sys.executable, __file__, "--child", module, json.dumps(arguments), str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    output = done.stdout + done.stderr
    if done.returncode != 0 or not out.exists():
        return [Row(f"{module} did not finish (see its output)", math.nan, math.nan, "", "runs", False)], \
            seconds, output  # fmt: skip
    return [Row(**row) for row in json.loads(out.read_text())], seconds, output


def child(module: str, arguments: str, out: str) -> int:
    import importlib

    rows = importlib.import_module(module).collect(**json.loads(arguments))
    Path(out).write_text(json.dumps([asdict(row) for row in rows]))
    return 0


def print_results(results: list[tuple[str, Row]]) -> None:
    header = f"{'area':<11} {'task':<60} {'ours':>12} {'baseline':>12} {'ratio':>7}  target"
    print(header)
    print("-" * (len(header) + 24))
    for area, row in results:
        ratio = "-" if math.isnan(row.ratio) else f"{row.ratio:.3g}"
        print(
            f"{area:<11} {row.task:<60} {number(row.ours, 10)}{row.unit:>2} {number(row.baseline, 10)}"
            f"{row.unit:>2} {ratio:>7}  {row.target} [{'ok' if row.ok else 'MISSED'}]"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke check")
    parser.add_argument("--json", type=Path, help="also write the results here, as JSON")
    parser.add_argument("--plot", type=Path, help="where to draw the scaling plot")
    parser.add_argument("--only", nargs="+", metavar="AREA", help="run these areas only")
    parser.add_argument("--tmpdir", type=Path, help="folder for temporary files (default /dev/shm)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        return child(*options.child)

    tmpdir = options.tmpdir or (Path("/dev/shm") if os.path.isdir("/dev/shm") else None)
    if tmpdir is not None:
        tmpdir.mkdir(parents=True, exist_ok=True)
        os.environ["TMPDIR"] = tempfile.tempdir = str(tmpdir)
    plot = options.plot or (None if options.quick else HERE / "scaling.png")
    load_before = os.getloadavg()
    started = time.perf_counter()
    results: list[tuple[str, Row]] = []
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        for area, module, full, quick in PLAN:
            if options.only and area not in options.only:
                continue
            arguments = dict(quick if options.quick else full)
            if module == "bench_scaling" and plot is not None:
                arguments["plot_path"] = str(plot)
            rows, seconds, output = run_child(module, arguments, Path(folder))
            timings[area] = seconds
            print(f"{area}: {seconds:.1f} s", file=sys.stderr, flush=True)
            if any(math.isnan(row.ours) for row in rows):
                print(output[-4000:], file=sys.stderr)
            results += [(area, row) for row in rows]
    total = time.perf_counter() - started
    load_after = os.getloadavg()

    info = machine()
    print(f"\nMachine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}, SQLite "
          f"{info['sqlite']}, SQLAlchemy {info['sqlalchemy']}, aiida-core {info['aiida-core']}; "
          f"stores on {info['store sqlite']}")  # fmt: skip
    print(f"Load average (1, 5, 15 min): before {load_before}, after {load_after}; took {total:.0f} s\n")
    print_results(results)
    missed = [f"{area}: {row.task}" for area, row in results if not row.ok]
    print(f"\n{len(results) - len(missed)} of {len(results)} rows met their target")
    if options.json is not None:
        nan_free = lambda value: None if isinstance(value, float) and math.isnan(value) else value  # noqa: E731
        options.json.write_text(json.dumps({
            "machine": info, "load_before": load_before, "load_after": load_after, "seconds": total,
            "seconds_per_area": timings, "quick": options.quick,
            "rows": [{"area": area, **{k: nan_free(v) for k, v in asdict(row).items()},
                      "ratio": nan_free(row.ratio)} for area, row in results],
        }, indent=1))  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
