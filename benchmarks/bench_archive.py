"""Benchmark of archive export and import: ours against aiida-core 2.9.4 on the same data, in the same run.

    python benchmarks/bench_archive.py [--quick]

1. An archive of 1,000 nodes (a quarter of them calculations linked to their
   inputs and outputs, 100 of them with a file): ``create_archive`` and
   ``import_archive``, ours against aiida-core's. Target: ours at least 5x faster.
2. An import of 100,000 nodes and 10,000 objects, in a subprocess: time and
   peak resident memory. Target: under 500 MB.

``--quick`` shrinks both. ``--tmpdir DIR`` puts every temporary file (archives,
the stores' and aiida-core's repositories) under ``DIR``: both tools write one
file per object, so on a file system where creating a file is slow that cost
dominates both. The exit status is 1 when a target is missed. aiida-core runs
on throwaway in-process profiles with a private ``AIIDA_PATH``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Bytes,
    Row,
    median_seconds,
    print_table,
    provenance_links,
    provenance_rows,
    use_private_temporary_folder,
)

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.archive import create_archive, import_archive

SPEEDUP_TARGET = 5.0
RSS_LIMIT_MB = 500.0

_CHILD = """
import json, resource, sys, time
from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.archive import import_archive
store = SqliteTempBackend(SqliteTempBackend.create_profile())
start = time.perf_counter()
report = import_archive(sys.argv[1], store, create_group=False)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "nodes": report.new.nodes, "objects": report.objects_copied,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def fill_store(store: SqliteTempBackend, nodes: int, objects: int, seed: int = 7) -> None:
    """Nodes in the shape of a real provenance graph: data, calculations, their links, and files."""
    rng = random.Random(seed)
    repository = store.get_repository()
    keys = []
    for _ in range(objects):
        content = rng.randbytes(rng.randint(256, 2048))
        keys.append(repository.put_object_from_filelike(Bytes(content)))

    def files(index: int, is_calc: bool) -> dict:
        number = index - index // 4  # among the data nodes: the first `objects` of them hold a file each
        if is_calc or number >= objects:
            return {}
        return {"o": {"data": {"o": {"file.dat": {"k": keys[number]}}}}}

    rows = provenance_rows(nodes, store.default_user_id, files)
    ids = []
    for offset in range(0, len(rows), 20_000):
        ids += store.bulk_insert("node", rows[offset : offset + 20_000], allow_defaults=True)
    store.bulk_insert("link", provenance_links(ids))


class Aiida:
    """aiida-core on throwaway profiles in this process."""

    def __init__(self, folder: Path) -> None:
        (folder / ".aiida").mkdir(parents=True)
        os.environ["AIIDA_PATH"] = str(folder)
        import aiida
        from aiida.storage.sqlite_temp import SqliteTempBackend as AiidaTempBackend
        from aiida.tools.archive import create_archive as aiida_create
        from aiida.tools.archive import import_archive as aiida_import

        logging.getLogger("aiida").setLevel(logging.ERROR)
        self._aiida = aiida
        self._backend = AiidaTempBackend
        self._folder = folder
        self._count = 0
        self.create = aiida_create
        self.import_ = aiida_import

    def fresh_profile(self) -> None:
        self._count += 1
        profile = self._backend.create_profile(
            f"bench-{self._count}",
            filepath=str(self._folder / f"profile-{self._count}"),
            options={"warnings.development_version": False, "logging.aiida_loglevel": "ERROR"},
        )
        self._aiida.load_profile(profile, allow_switch=True)
        logging.getLogger("aiida").setLevel(logging.ERROR)


def compare_small(work: Path, nodes: int, objects: int, repeat: int, aiida_repeat: int) -> list[Row]:
    """Time create and import, ours and aiida-core's, on the same archive's data."""
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    fill_store(store, nodes, objects)
    archive = work / "small.aiida"
    counter = iter(range(1_000_000))

    def ours_create() -> None:
        create_archive(store, work / f"ours-{next(counter)}.aiida")

    ours_create_time = median_seconds(ours_create, repeat=repeat)
    create_archive(store, archive)

    aiida = Aiida(work / "aiida")
    aiida.fresh_profile()
    aiida.import_(archive)

    def aiida_create() -> None:
        aiida.create(None, work / f"aiida-{next(counter)}.aiida")

    aiida_create_time = median_seconds(aiida_create, repeat=aiida_repeat)

    targets: list[SqliteTempBackend] = []

    def fresh_store() -> None:
        for old in targets:
            old.close()
        targets[:] = [SqliteTempBackend(SqliteTempBackend.create_profile())]

    ours_import_time = median_seconds(
        lambda: import_archive(archive, targets[0]), repeat=repeat, setup=fresh_store
    )
    aiida_import_time = median_seconds(
        lambda: aiida.import_(archive), repeat=aiida_repeat, setup=aiida.fresh_profile
    )
    for old in targets:
        old.close()
    store.close()

    target = f">= {SPEEDUP_TARGET:g}x faster"
    return [
        Row(
            f"create_archive, {nodes} nodes, {objects} files",
            ours_create_time,
            aiida_create_time,
            "s",
            target,
            aiida_create_time >= SPEEDUP_TARGET * ours_create_time,
        ),
        Row(
            f"import_archive, {nodes} nodes, {objects} files",
            ours_import_time,
            aiida_import_time,
            "s",
            target,
            aiida_import_time >= SPEEDUP_TARGET * ours_import_time,
        ),
    ]


def measure_large(work: Path, nodes: int, objects: int) -> tuple[dict[str, float], float]:
    """Build a large archive here, import it in a fresh interpreter; its figures and the build time."""
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    start = time.perf_counter()
    fill_store(store, nodes, objects)
    archive = create_archive(store, work / "large.aiida")
    built = time.perf_counter() - start
    store.close()
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(archive)], capture_output=True, text=True, check=True
    )
    figures = json.loads(result.stdout)
    if (figures["nodes"], figures["objects"]) != (nodes, objects):
        raise RuntimeError(f"the import did not bring in everything: {figures}")
    return figures, built


def collect(quick: bool = False, *, large: bool = True) -> list[Row]:
    """Every row of this benchmark; ``large=False`` leaves out the big import (bench_scaling has it)."""
    small_nodes, small_objects = (1_000, 100)
    large_nodes, large_objects = (20_000, 2_000) if quick else (100_000, 10_000)
    repeat, aiida_repeat = (3, 1) if quick else (7, 3)

    print(f"temporary files in {tempfile.gettempdir()}")
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as folder:
        work = Path(folder)
        rows = compare_small(work, small_nodes, small_objects, repeat, aiida_repeat)
        if not large:
            return rows
        figures, built = measure_large(work, large_nodes, large_objects)
    print(f"large archive built in {built:.2f} s")
    size = f"{large_nodes:,} nodes, {large_objects:,} objects"
    rows.append(Row(f"import_archive, {size} (subprocess, s)", figures["seconds"], float("nan"), "s",
                    "reported", True))  # fmt: skip
    rows.append(Row(f"import_archive, {size}: peak RSS", figures["rss_mb"], RSS_LIMIT_MB, "MB",
                    f"< {RSS_LIMIT_MB:g} MB", figures["rss_mb"] < RSS_LIMIT_MB))  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer repeats")
    parser.add_argument("--tmpdir", type=Path, help="folder for every temporary file (default: the system's)")
    arguments = parser.parse_args(argv)
    if arguments.tmpdir is not None:
        arguments.tmpdir.mkdir(parents=True, exist_ok=True)
        tempfile.tempdir = str(arguments.tmpdir)
        os.environ["TMPDIR"] = str(arguments.tmpdir)  # for the subprocess
    rows = collect(arguments.quick)
    ok = print_table("Archives: pytest-tempstore vs aiida-core 2.9.4 (median wall time)", rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
