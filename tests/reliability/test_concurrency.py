"""Concurrency: eight threads on one store, several stores side by side, and stores of xdist workers."""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_tempstore import SqliteTempBackend

THREADS = 8
OPERATIONS = 1000


class Planned(Exception):
    """Raised on purpose inside a nested transaction."""


def worker(store: SqliteTempBackend, number: int, tally: dict[str, object]) -> None:
    """``OPERATIONS`` mixed operations; what must remain is counted in ``tally``."""
    repository = store.get_repository()
    user = store.default_user_id
    nodes = 0
    objects: set[str] = set()
    last_pk = None
    for step in range(OPERATIONS):
        kind = step % 6
        if kind == 0:
            last_pk = store.bulk_insert("node", [{"label": f"{number}-{step}", "user_id": user}], True)[0]
            nodes += 1
        elif kind == 1:
            # A nested savepoint that fails: only the outer row stays.
            with store.transaction():
                store.bulk_insert("node", [{"label": f"{number}-{step}", "user_id": user}], True)
                with pytest.raises(Planned), store.transaction():
                    store.bulk_insert("node", [{"label": "rolled back", "user_id": user}], True)
                    raise Planned
            nodes += 1
        elif kind == 2:
            store.set_global_variable(f"thread-{number}", step)
            assert store.get_global_variable(f"thread-{number}") == step
        elif kind == 3:
            key = repository.put_object_from_filelike(io.BytesIO(f"{number}-{step}".encode()))
            objects.add(key)
            if step % 12 == 3:
                repository.delete_objects([key])
                objects.discard(key)
        elif kind == 4 and last_pk is not None:
            store.bulk_update("node", [{"id": last_pk, "description": f"updated by {number}"}])
        else:
            assert store.get_info()["entities"]["Nodes"]["count"] >= nodes
            assert repository.has_objects(sorted(objects)) == [True] * len(objects)
    tally.update(nodes=nodes, objects=objects, last_global=max(s for s in range(OPERATIONS) if s % 6 == 2))


def run_threads(target: Callable[[int], None], count: int) -> None:
    """Run ``target(0..count-1)`` in threads started together; re-raise the first error."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def guarded(number: int) -> None:
        try:
            barrier.wait()
            target(number)
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]


def test_eight_threads_mixed_operations_on_one_store(store):
    tallies: list[dict[str, object]] = [{} for _ in range(THREADS)]
    run_threads(lambda number: worker(store, number, tallies[number]), THREADS)

    with store.transaction() as session:
        connection = session.connection()
        per_thread = dict(
            connection.exec_driver_sql(
                "SELECT substr(label, 1, instr(label, '-') - 1), COUNT(*) FROM db_dbnode GROUP BY 1"
            ).all()
        )
        rolled_back = connection.exec_driver_sql(
            "SELECT COUNT(*) FROM db_dbnode WHERE label = 'rolled back'"
        ).scalar_one()
    assert rolled_back == 0
    assert per_thread == {str(number): tallies[number]["nodes"] for number in range(THREADS)}
    for number in range(THREADS):
        assert store.get_global_variable(f"thread-{number}") == tallies[number]["last_global"]
    expected_objects = set().union(*(tally["objects"] for tally in tallies))  # type: ignore[misc]
    assert set(store.get_repository().list_objects()) == expected_objects
    assert store.get_info()["entities"]["Nodes"]["count"] == sum(t["nodes"] for t in tallies)  # type: ignore[misc]
    assert not store.in_transaction


def test_stores_in_one_process_never_see_each_other(new_store):
    stores = [new_store(default_user_email=f"user{number}@example.com") for number in range(4)]

    def fill(number: int) -> None:
        store = stores[number]
        for step in range(200):
            store.bulk_insert("node", [{"label": f"{number}", "user_id": store.default_user_id}], True)
            store.set_global_variable(f"store-{number}-{step % 5}", step)
            store.get_repository().put_object_from_filelike(io.BytesIO(f"{number}-{step}".encode()))

    run_threads(fill, len(stores))
    for number, store in enumerate(stores):
        with store.transaction() as session:
            connection = session.connection()
            labels = set(connection.exec_driver_sql("SELECT label FROM db_dbnode").scalars())
            keys = set(connection.exec_driver_sql("SELECT key FROM db_dbsetting").scalars())
            emails = list(connection.exec_driver_sql("SELECT email FROM db_dbuser").scalars())
        assert labels == {str(number)}
        assert keys == {f"store-{number}-{step}" for step in range(5)}
        assert emails == [f"user{number}@example.com"]
        assert len(store.get_repository().list_objects()) == 200
    folders = {store.get_repository().folder for store in stores}
    assert len(folders) == len(stores)


SUITE_WORKERS = """
    import os
    import pytest

    WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

    @pytest.mark.parametrize("n", range(40))
    def test_session_and_module_stores_are_the_workers_own(tempstore_session, tempstore_module, tempstore, n):
        for store in (tempstore_session, tempstore_module):
            store.set_global_variable(f"{WORKER}-{n}", n)
            with store.transaction() as session:
                keys = session.connection().exec_driver_sql("SELECT key FROM db_dbsetting").scalars().all()
            assert all(key.startswith(WORKER + "-") for key in keys), keys
        assert tempstore.get_info()["entities"]["Nodes"]["count"] == 0
        tempstore.bulk_insert("node", [{"label": WORKER, "user_id": tempstore.default_user_id}], True)
"""


def test_xdist_workers_never_see_each_other(pytester, runpytest_subprocess):
    pytester.makepyfile(test_workers=SUITE_WORKERS)
    result = runpytest_subprocess("-n", "2", "-p", "no:randomly", "--dist=load")
    result.assert_outcomes(passed=40)
    result.stdout.fnmatch_lines(["*2 workers*"])
