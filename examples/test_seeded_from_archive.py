"""Tests that start from a prepared provenance graph: an AiiDA archive, a seed function, or both.

``data/two_additions.zip`` is an AiiDA archive (written with
``pytest_tempstore.archive.create_archive``) holding two recorded additions,
2 + 3 and 5 + 8, each calculation with its ``source.py`` file. A relative
``archive`` path is taken from the folder of the test file, so these tests
work from any working directory.

The archive is imported once per test process; before each test the store is
put back to that state, so tests may change it freely.
"""

import pytest
from calculations import INT, record_addition
from graph_queries import incoming, node_count, rows

pytestmark = pytest.mark.tempstore(archive="data/two_additions.zip")


def sums(store):
    return sorted(
        value
        for (value,) in rows(
            store,
            "SELECT json_extract(attributes, '$.value') FROM db_dbnode "
            "WHERE node_type = :int AND label = 'sum'",
            int=INT,
        )
    )


def test_archive_content_is_there(tempstore):
    assert sums(tempstore) == [5, 13]
    assert node_count(tempstore) == 8
    # Users, uuids and times come from the archive.
    assert rows(tempstore, "SELECT email FROM db_dbuser ORDER BY email") == [
        ("archive@example.org",),
        ("user@email.com",),
    ]


def test_archive_files_are_in_the_repository(tempstore):
    ((metadata,),) = rows(tempstore, "SELECT repository_metadata FROM db_dbnode WHERE label = 'add' LIMIT 1")
    key = __import__("json").loads(metadata)["o"]["source.py"]["k"]
    assert tempstore.get_repository().get_object_content(key).startswith(b"def add(x, y):")


def test_tests_may_change_the_graph(tempstore):
    record_addition(1, 1, tempstore)
    assert sums(tempstore) == [2, 5, 13]


def test_and_the_next_test_gets_the_archive_state_again(tempstore):
    assert sums(tempstore) == [5, 13]


def add_a_third_addition(store):
    """A seed function: runs once per test process, after the archive is imported."""
    record_addition(100, 1, store)


# The closest marker wins as a whole, so the class repeats the archive.
@pytest.mark.tempstore(archive="data/two_additions.zip", seed=add_a_third_addition)
class TestArchivePlusSeed:
    def test_seed_ran_after_the_import(self, tempstore):
        assert sums(tempstore) == [5, 13, 101]

    def test_seed_state_is_restored_too(self, tempstore):
        (calculation,) = rows(
            tempstore,
            "SELECT output_id FROM db_dblink WHERE label = 'x' AND input_id IN "
            "(SELECT id FROM db_dbnode WHERE json_extract(attributes, '$.value') = 100)",
        )
        assert [link[0] for link in incoming(tempstore, calculation[0])] == ["input_calc", "input_calc"]
