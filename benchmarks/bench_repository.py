"""Repository benchmarks: each figure beside a baseline measured in the same run.

    python benchmarks/bench_repository.py [--quick]

- 1,000 puts of distinct 4 KiB objects and 20 puts of distinct 5 MiB objects, against a
  plain loop of ``sha256(data).hexdigest()`` plus ``open(folder/key, 'wb').write(data)``
  (target: at least 0.8x its objects per second; the two take turns within each run);
- ``has_object`` with 10,000 objects stored (target: at most 0.05 ms a call), beside a
  plain set lookup for scale;
- ``clear()`` with 1,000 objects, and ``restore()`` of a snapshot after 1,000 new objects
  (target: at most 10 ms each), beside unlinking the same files one by one.

Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script from anywhere: _common sits beside this file, the package one folder up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, median_seconds, print_table, use_private_temporary_folder

from pytest_tempstore.repository import SandboxShaRepositoryBackend

KIB = 1024
MIB = 1024 * KIB
_serial = itertools.count()


def distinct_blobs(count, size):
    """``count`` distinct blobs of ``size`` bytes, never seen before in this run."""
    return [os.urandom(size) for _ in range(count)]


def new_folder(root):
    return os.path.join(root, f"f{next(_serial)}")


def put_rows(root, count, size, repeat, *, batch, drop_between):
    """Objects per second of our puts against the plain hash-and-write loop, both into fresh folders.

    Load on this shared machine comes and goes by the second (whole-run medians swung from
    0.6x to 1.5x between identical runs), so the two take turns every ``batch`` objects, each
    going first every other turn, and each run sums its turns. ``drop_between`` removes the
    folders after each run (untimed): right for big objects, whose dirty pages then never reach
    the disk; wrong for many small files, as deleting them on this ext4 (mounted with
    ``discard``) stalls the writes that follow.
    """
    section = tempfile.mkdtemp(dir=root)
    plain_times, ours_times = [], []
    try:
        for _ in range(repeat):
            folder = new_folder(section)
            os.mkdir(folder)
            plain_blobs = distinct_blobs(count, size)
            repo = SandboxShaRepositoryBackend(new_folder(section))
            handles = [io.BytesIO(data) for data in distinct_blobs(count, size)]
            plain_time = ours_time = 0.0
            for turn, start in enumerate(range(0, count, batch)):
                for side in ("plain", "ours") if turn % 2 == 0 else ("ours", "plain"):
                    began = time.perf_counter()
                    if side == "plain":
                        for data in plain_blobs[start : start + batch]:
                            key = hashlib.sha256(data).hexdigest()
                            with open(os.path.join(folder, key), "wb") as handle:
                                handle.write(data)
                        plain_time += time.perf_counter() - began
                    else:
                        put = repo.put_object_from_filelike
                        for handle in handles[start : start + batch]:
                            put(handle)
                        ours_time += time.perf_counter() - began
            plain_times.append(plain_time)
            ours_times.append(ours_time)
            if drop_between:
                repo.erase()
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(section)
    ours_rate = count / statistics.median(ours_times)
    plain_rate = count / statistics.median(plain_times)
    label = f"{size // KIB} KiB" if size < MIB else f"{size // MIB} MiB"
    return Row(
        f"put {count:,} distinct {label} objects",
        ours_rate,
        plain_rate,
        "/s",
        ">= 0.8x baseline",
        ours_rate >= 0.8 * plain_rate,
    )


def has_object_row(root, calls):
    repo = SandboxShaRepositoryBackend(new_folder(root))
    keys = [repo.put_object_from_filelike(io.BytesIO(b"object %d" % i)) for i in range(10_000)]
    absent = [hashlib.sha256(b"absent %d" % i).hexdigest() for i in range(1_000)]
    probes = list(itertools.islice(itertools.cycle(keys[::7] + absent), calls))
    known = set(keys)

    def ours():
        has = repo.has_object
        for key in probes:
            has(key)

    def plain():
        for key in probes:
            _ = key in known

    ours_ms = median_seconds(ours, repeat=5) / calls * 1e3
    plain_ms = median_seconds(plain, repeat=5) / calls * 1e3
    repo.erase()
    return Row(
        "has_object, 10,000 objects stored (per call)",
        ours_ms,
        plain_ms,
        "ms",
        "<= 0.05 ms",
        ours_ms <= 0.05,
    )


def unlink_files_setup(root, state, count):
    """A folder of ``count`` files, for the naive 'delete every file' baseline."""
    folder = new_folder(root)
    os.mkdir(folder)
    paths = []
    for data in distinct_blobs(count, 64):
        path = os.path.join(folder, hashlib.sha256(data).hexdigest())
        with open(path, "wb") as handle:
            handle.write(data)
        paths.append(path)
    state["paths"] = paths


def unlink_files(state):
    for path in state["paths"]:
        os.unlink(path)


def clear_restore_rows(root, repeat):
    count = 1_000
    state = {}

    def fill(repo):
        put = repo.put_object_from_filelike
        for data in distinct_blobs(count, 64):
            put(io.BytesIO(data))

    def fill_setup():
        fill(state["repo"])

    def clear():
        state["repo"].clear()

    def restore():
        state["repo"].restore(state["snapshot"])

    def baseline_setup():
        unlink_files_setup(root, state, count)

    def baseline():
        unlink_files(state)

    rows = []
    # New content at every repetition, as tests would make: the garbage grows and is
    # purged once past its threshold, inside one of the timed calls. Report that too.
    print("clear() and restore(), median and worst of the timed calls:")
    state["repo"] = SandboxShaRepositoryBackend(new_folder(root))
    clear_times = [median_seconds(clear, repeat=1, setup=fill_setup) for _ in range(repeat)]
    state["repo"].erase()

    state["repo"] = repo = SandboxShaRepositoryBackend(new_folder(root))
    fill(repo)
    state["snapshot"] = repo.snapshot()
    restore_times = [median_seconds(restore, repeat=1, setup=fill_setup) for _ in range(repeat)]
    del state["snapshot"]
    repo.erase()

    unlink_ms = median_seconds(baseline, repeat=repeat, setup=baseline_setup) * 1e3
    for task, times in [
        (f"clear() with {count:,} objects", clear_times),
        (f"restore() after {count:,} new objects", restore_times),
    ]:
        median_ms = statistics.median(times) * 1e3
        print(f"  {task}: median {median_ms:.3f} ms, max {max(times) * 1e3:.3f} ms over {len(times)} runs")
        rows.append(Row(task, median_ms, unlink_ms, "ms", "<= 10 ms", median_ms <= 10))
    return rows


def collect(quick=False):
    """Every row of this benchmark (``--quick``: fewer repetitions)."""
    repeat = 3 if quick else 7
    root = tempfile.mkdtemp(prefix="bench-repository-")
    try:
        return [
            put_rows(root, 1_000, 4 * KIB, repeat, batch=50, drop_between=False),
            put_rows(root, 20, 5 * MIB, 2 * repeat + 1, batch=1, drop_between=True),
            has_object_row(root, 20_000 if quick else 100_000),
            *clear_restore_rows(root, repeat),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke test")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = collect(args.quick)
    ok = print_table("SandboxShaRepositoryBackend (baseline: plain Python doing the same job)", rows)
    print(f"\n{'all targets met' if ok else 'TARGET MISSED'} in {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
