"""Stores that live longer than one test, for data that is expensive to build and only read.

* ``tempstore_module``: one store for the tests of this module, emptied at the module's end.
* ``tempstore_session``: one store for the whole run (one per xdist worker).

Tests sharing a store see each other's changes, so keep them to reading.
"""

import pytest
from calculations import record_addition
from graph_queries import node_count, value_of

from pytest_tempstore import current_store


@pytest.fixture(scope="module")
def additions(tempstore_module):
    """A hundred additions, recorded once for this module."""
    return [record_addition(number, number, tempstore_module) for number in range(100)]


def test_every_addition_is_stored(tempstore_module, additions):
    assert node_count(tempstore_module) == 400


def test_results_are_doubles(tempstore_module, additions):
    assert [value_of(tempstore_module, addition.result) for addition in additions[:5]] == [0, 2, 4, 6, 8]


@pytest.fixture(scope="session")
def reference_addition(tempstore_session):
    """One addition that every module of the run may read."""
    return record_addition(20, 22, tempstore_session)


def test_session_store_holds_the_reference(tempstore_session, reference_addition):
    assert value_of(tempstore_session, reference_addition.result) == 42


def test_function_store_is_separate(tempstore, tempstore_module, additions):
    # The test's own store does not see the module's data, and it is the current store: the innermost one.
    assert current_store() is tempstore
    assert node_count(tempstore) == 0
    assert node_count(tempstore_module) == 400


def test_extra_stores_from_the_factory(tempstore_factory):
    # Two independent stores, e.g. to copy data from one to the other.
    source = tempstore_factory(default_user_email="source@example.org")
    target = tempstore_factory(default_user_email="target@example.org")
    record_addition(3, 4, source)
    assert (node_count(source), node_count(target)) == (4, 0)
