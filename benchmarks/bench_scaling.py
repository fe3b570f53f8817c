"""Scaling: how the cost of the main operations grows with the size of the store.

    python benchmarks/bench_scaling.py [--quick] [--plot PATH]

At 1,000, 10,000 and 100,000 nodes (one in ten with a file, so 100 to 10,000
repository objects; a quarter of the nodes are calculations, each linked to two
inputs and one output), each size in a fresh interpreter:

- ``bulk_insert`` of the nodes and their links (one call each);
- ``_clear()`` and ``restore(snapshot)`` of the whole store (median of 5);
- a typical query: calculations with an input ``Int`` below 300, by id (median of 5);
- ``create_archive`` of the store, then ``import_archive`` into a new store in a
  second fresh interpreter (time and peak RSS of that interpreter).

Peak RSS is reported for both interpreters: the first holds the rows it hands to
``bulk_insert`` as Python dicts besides the store (taken before the archive is
written); the second is a store of that size built by ``import_archive``, which
streams. Target: the import of 100,000 nodes stays under 500 MB. ``--plot`` draws
the times against size (log-log) with matplotlib, from the ``benchmarks`` extra.
``--quick`` stops at 10,000 nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CALC,
    INT,
    Bytes,
    Row,
    print_table,
    provenance_links,
    provenance_rows,
    use_private_temporary_folder,
)

SIZES = (1_000, 10_000, 100_000)
OPERATIONS = ("bulk_insert", "_clear", "restore", "query", "create_archive", "import_archive")
RSS_LIMIT_MB = 500.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_of(work, setup, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        setup()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(nodes: int, archive: str) -> dict[str, float]:
    """In a fresh interpreter: fill a store of ``nodes`` nodes, time every operation but the import."""
    from pytest_tempstore import SqliteTempBackend
    from pytest_tempstore.archive import create_archive
    from pytest_tempstore.storage.querybuilder import QueryBuilder

    rng = random.Random(7)
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    repository = store.get_repository()
    keys = [repository.put_object_from_filelike(Bytes(rng.randbytes(512))) for _ in range(nodes // 10)]
    rows = provenance_rows(
        nodes,
        store.default_user_id,
        lambda index, _is_calc: {} if index % 10 else {"o": {"data.txt": {"k": keys[index // 10]}}},
    )
    figures = {}
    began = time.perf_counter()
    ids = store.bulk_insert("node", rows, allow_defaults=True)
    links = provenance_links(ids)
    store.bulk_insert("link", links)
    figures["bulk_insert"] = time.perf_counter() - began
    del rows, links

    def query() -> int:
        builder = QueryBuilder(backend=store)
        builder.append(INT, filters={"attributes.value": {"<": 300}}, tag="x")
        builder.append(CALC, with_incoming="x", project="id")
        return len(builder.all())

    assert query() == 150, query()  # 75 calculations, each matched through both inputs
    figures["query"] = median_of(query, lambda: None)
    snapshot = store.snapshot()
    figures["_clear"] = median_of(store._clear, lambda: store.restore(snapshot))
    figures["restore"] = median_of(lambda: store.restore(snapshot), store._clear)
    store.restore(snapshot)
    figures["store_rss_mb"] = peak_rss_mb()
    began = time.perf_counter()
    create_archive(store, archive)
    figures["create_archive"] = time.perf_counter() - began
    store.close()
    return figures


def load(archive: str) -> dict[str, float]:
    """In a fresh interpreter: import ``archive`` into a new store; its time and the peak RSS."""
    from pytest_tempstore import SqliteTempBackend
    from pytest_tempstore.archive import import_archive

    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    began = time.perf_counter()
    import_archive(archive, store, create_group=False)
    return {"import_archive": time.perf_counter() - began, "import_rss_mb": peak_rss_mb()}


def in_child(step: str, nodes: int, archive: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", step, str(nodes), archive],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def measure(sizes: tuple[int, ...]) -> dict[int, dict[str, float]]:
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as work:
        for nodes in sizes:
            archive = os.path.join(work, f"{nodes}.aiida")
            results[nodes] = {**in_child("build", nodes, archive), **in_child("load", nodes, archive)}
            print(f"{nodes:>7,} nodes: " + ", ".join(f"{k} {v:.4g}" for k, v in results[nodes].items()))
    return results


def print_scaling(results: dict[int, dict[str, float]]) -> None:
    sizes = sorted(results)
    print("\nScaling (seconds; RSS in MB)")
    print(f"{'operation':<16}" + "".join(f"{size:>12,}" for size in sizes))
    for key in (*OPERATIONS, "store_rss_mb", "import_rss_mb"):
        print(f"{key:<16}" + "".join(f"{results[size][key]:>12.4g}" for size in sizes))


def plot(results: dict[int, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = sorted(results)
    figure, axes = pyplot.subplots(figsize=(7, 4.5), dpi=120)
    for key in OPERATIONS:
        label = f"store.{key}()" if key in ("bulk_insert", "_clear", "restore") else key
        axes.plot(sizes, [results[size][key] for size in sizes], marker="o", label=label)
    axes.plot(sizes, [1e-5 * size for size in sizes], color="grey", linestyle=":", label="10 µs per node")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("nodes in the store (one in ten with a file)")
    axes.set_ylabel("wall time (s)")
    axes.set_title("pytest-tempstore: cost against store size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot written to {path}")


def collect(quick: bool = False, plot_path: Path | None = None) -> list[Row]:
    results = measure(SIZES[:2] if quick else SIZES)
    print_scaling(results)
    if plot_path is not None:
        plot(results, plot_path)
    largest = max(results)
    figures = results[largest]
    rows = [
        Row(f"scaling: {key}, {size:,} nodes", results[size][key], float("nan"), "s", "reported", True)
        for key in OPERATIONS
        for size in sorted(results)
    ]
    rows.append(
        Row(f"peak RSS, bulk_insert of {largest:,} nodes from rows in memory", figures["store_rss_mb"],
            float("nan"), "MB", "reported", True)
    )  # fmt: skip
    rows.append(
        Row(f"peak RSS, store of {largest:,} nodes + {largest // 10:,} objects (import)",
            figures["import_rss_mb"], RSS_LIMIT_MB, "MB", f"< {RSS_LIMIT_MB:g} MB",
            figures["import_rss_mb"] < RSS_LIMIT_MB)
    )  # fmt: skip
    return rows


def main() -> int:
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 nodes only")
    parser.add_argument("--plot", type=Path, help="write the scaling plot (PNG) here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        step, nodes, archive = arguments.child
        figures = build(int(nodes), archive) if step == "build" else load(archive)
        print(json.dumps(figures))
        return 0
    return 0 if print_table("Scaling", collect(arguments.quick, arguments.plot)) else 1


if __name__ == "__main__":
    sys.exit(main())
