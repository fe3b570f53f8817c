"""Testing code that records provenance, with a fresh store for every test.

The ``tempstore`` fixture hands each test an empty store (just the default user).
Whatever a test writes is gone before the next test starts.
"""

import pytest
from calculations import CALCFUNCTION, record_addition
from graph_queries import incoming, node_count, rows, value_of

from pytest_tempstore import current_store


def test_addition_records_inputs_calculation_and_result(tempstore):
    addition = record_addition(2, 3, tempstore)

    assert value_of(tempstore, addition.result) == 5
    assert incoming(tempstore, addition.calculation) == [
        ("input_calc", "x", addition.x),
        ("input_calc", "y", addition.y),
    ]
    assert incoming(tempstore, addition.result) == [("create", "result", addition.calculation)]
    assert rows(tempstore, "SELECT node_type FROM db_dbnode WHERE id = :id", id=addition.calculation) == [
        (CALCFUNCTION,)
    ]


def test_every_test_starts_from_an_empty_store(tempstore):
    # The addition recorded by the test above is not here.
    assert node_count(tempstore) == 0
    assert tempstore.get_info()["entities"]["Users"]["count"] == 1


@pytest.mark.parametrize(("x", "y"), [(0, 0), (-4, 4), (10**6, 1)])
def test_result_is_the_sum(tempstore, x, y):
    addition = record_addition(x, y, tempstore)
    assert value_of(tempstore, addition.result) == x + y
    assert node_count(tempstore) == 4


# Code that finds its store through current_store() needs no fixture argument:
# the marker gives the test a store of its own all the same.
@pytest.mark.tempstore
def test_code_that_uses_the_current_store():
    addition = record_addition(1, 1)  # no store passed: current_store() is used
    assert value_of(current_store(), addition.result) == 2


@pytest.mark.tempstore(default_user_email="ada@example.org")
def test_with_another_default_user(tempstore):
    record_addition(1, 2, tempstore)
    assert rows(
        tempstore, "SELECT DISTINCT u.email FROM db_dbnode n JOIN db_dbuser u ON u.id = n.user_id"
    ) == [("ada@example.org",)]
