"""Restoring a database while a statement is still active on its connection never crashes the process.

SQLite 3.40 can crash when ``deserialize()`` replaces a database under an active
statement; both stores restore through the backup API instead, and move to a
fresh connection when the old one is busy.
"""

from __future__ import annotations

import pytest

pytest.importorskip("aiida")


@pytest.fixture
def store():
    from pytest_tempstore.aiida.store import SharedStore

    shared = SharedStore()
    yield shared
    shared.close()


def _user_emails(connection):
    return [row[0] for row in connection.execute("SELECT email FROM db_dbuser ORDER BY id")]


def _add_user(connection, email):
    connection.execute(
        "INSERT INTO db_dbuser (email, first_name, last_name, institution) VALUES (?, '', '', '')", (email,)
    )
    connection.commit()


def test_aiida_store_restores_under_an_open_cursor_on_a_fresh_connection(store):
    _add_user(store.connection, "kept@example.org")
    image = store.capture()
    _add_user(store.connection, "dropped@example.org")
    busy = store.connection
    cursor = busy.execute("SELECT email FROM db_dbuser")
    assert cursor.fetchone() is not None  # one row left: the statement stays active

    store.restore(image)

    assert store.connection is not busy
    assert _user_emails(store.connection) == ["kept@example.org"]
    # The session works on the fresh connection too.
    assert store.session.connection().exec_driver_sql("SELECT count(*) FROM db_dbuser").scalar() == 1


def test_aiida_store_restores_in_place_when_nothing_is_active(store):
    image = store.capture()
    _add_user(store.connection, "dropped@example.org")
    connection = store.connection
    store.restore(image)
    assert store.connection is connection
    assert _user_emails(connection) == []


def test_aiida_store_restores_repository_and_global_variables(store):
    import io

    kept = store.repository.put_object_from_filelike(io.BytesIO(b"kept"))
    store.global_variables["key"] = ("kept", None)
    image = store.capture()
    dropped = store.repository.put_object_from_filelike(io.BytesIO(b"dropped"))
    store.global_variables["key"] = ("changed", None)
    store.global_variables["other"] = ("new", None)

    store.restore(image)

    assert store.repository.has_objects([kept, dropped]) == [True, False]
    assert store.global_variables == {"key": ("kept", None)}


def test_standalone_store_restores_under_an_open_cursor():
    from pytest_tempstore.storage.database import Database

    database = Database()
    try:
        snapshot = database.snapshot()
        busy = database.dbapi_connection
        for email in ("dropped@example.org", "dropped-too@example.org"):
            busy.execute("BEGIN")
            _add_user(busy, email)
        cursor = busy.execute("SELECT email FROM db_dbuser")
        assert cursor.fetchone() is not None  # one row left: the statement stays active

        database.restore(snapshot)

        assert database.dbapi_connection is not busy
        assert database.scalar("SELECT count(*) FROM db_dbuser") == 0
    finally:
        database.close()
