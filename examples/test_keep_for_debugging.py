"""Keeping a store to look at it after the run.

Run the suite with ``--tempstore-keep`` (or ``tempstore_keep = failed`` in the
ini file) and the store of every failing test is written, before it is reset,
as an unzipped AiiDA archive folder under pytest's base temporary folder::

    pytest examples --tempstore-keep
    ...
    ========================= tempstore: 1 kept store ==========================
    /tmp/pytest-of-you/pytest-12/tempstore-kept/examples_test_x.py__test_y

Open its ``db.sqlite3`` with the ``sqlite3`` shell, or load it into another store
with ``pytest_tempstore.archive.import_archive``. ``--tempstore-keep=all`` keeps
every test's store. For one test, ``@pytest.mark.tempstore(keep=True)`` keeps its
store whatever the command line says, and ``keep=False`` never keeps it.

The test below passes, and is kept all the same: see the end of the run's output.
"""

import pytest
from calculations import record_addition
from graph_queries import value_of


@pytest.mark.tempstore(keep=True)
def test_kept_for_inspection(tempstore):
    addition = record_addition(6, 7, tempstore)
    assert value_of(tempstore, addition.result) == 13
