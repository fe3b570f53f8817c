"""Links: AiiDA's rules for types, kinds, labels and degrees, and reading links back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tempstore.exceptions import IntegrityError
from pytest_tempstore.storage.entities import LINK_RULES, LinkType, Node

if TYPE_CHECKING:
    from pytest_tempstore.storage.backend import SqliteTempBackend

DATA = "data.core.int.Int."
CALC = "process.calculation.calcfunction.CalcFunctionNode."
WORK = "process.workflow.workfunction.WorkFunctionNode."
TYPE_OF_KIND = {"data": DATA, "calculation": CALC, "workflow": WORK}


def stored(store: SqliteTempBackend, node_type: str) -> Node:
    return Node(store, node_type).store()


@pytest.mark.parametrize("link_type", list(LinkType))
def test_each_type_connects_only_its_kinds(store: SqliteTempBackend, link_type: LinkType) -> None:
    rule = LINK_RULES[link_type]
    for source_kind, source_type in TYPE_OF_KIND.items():
        for target_kind, target_type in TYPE_OF_KIND.items():
            source, target = stored(store, source_type), stored(store, target_type)
            allowed = (source_kind, target_kind) == (rule.source.value, rule.target.value)
            if allowed:
                target.add_incoming(source, link_type, "label")
                assert target.get_incoming().all() == [(source, link_type, "label")]
            else:
                with pytest.raises(ValueError, match=f"a {link_type.value!r} link goes from"):
                    target.add_incoming(source, link_type, "label")


@pytest.mark.parametrize("label", ["_x", "x_", "a-b", "1abc", "", "a b", "é"])
def test_bad_labels(store: SqliteTempBackend, label: str) -> None:
    with pytest.raises(ValueError, match="invalid link label"):
        stored(store, CALC).add_incoming(stored(store, DATA), "input_calc", label)


def test_bad_link_type_and_self_link(store: SqliteTempBackend) -> None:
    calc = stored(store, CALC)
    with pytest.raises(ValueError, match="valid link types"):
        calc.add_incoming(stored(store, DATA), "input", "x")
    with pytest.raises(ValueError, match="itself"):
        calc.add_incoming(calc, "call_calc", "x")
    with pytest.raises(ValueError, match="stored"):
        calc.add_incoming(Node(store, DATA), "input_calc", "x")


def test_create_indegree_is_unique(store: SqliteTempBackend) -> None:
    data = stored(store, DATA)
    data.add_incoming(stored(store, CALC), "create", "a")
    with pytest.raises(ValueError, match="at most one"):
        data.add_incoming(stored(store, CALC), "create", "b")


def test_create_labels_unique_per_source(store: SqliteTempBackend) -> None:
    calc = stored(store, CALC)
    stored(store, DATA).add_incoming(calc, "create", "out")
    with pytest.raises(ValueError, match="outgoing 'create' link labelled 'out'"):
        stored(store, DATA).add_incoming(calc, "create", "out")


def test_one_caller_per_calculation(store: SqliteTempBackend) -> None:
    calc = stored(store, CALC)
    calc.add_incoming(stored(store, WORK), "call_calc", "call")
    with pytest.raises(ValueError, match="at most one"):
        calc.add_incoming(stored(store, WORK), "call_calc", "call")


def test_input_labels_unique_per_target_but_sources_may_repeat(store: SqliteTempBackend) -> None:
    data = stored(store, DATA)
    calc = stored(store, CALC)
    calc.add_incoming(data, "input_calc", "x")
    calc.add_incoming(data, "input_calc", "y")
    with pytest.raises(ValueError, match="labelled 'x'"):
        calc.add_incoming(stored(store, DATA), "input_calc", "x")
    with pytest.raises(ValueError, match="already exists"):
        calc.add_incoming(data, "input_calc", "x")


def test_return_allows_same_label_from_two_workflows_not_twice(store: SqliteTempBackend) -> None:
    data = stored(store, DATA)
    first, second = stored(store, WORK), stored(store, WORK)
    data.add_incoming(first, "return", "result")
    data.add_incoming(second, "return", "result")
    with pytest.raises(ValueError, match="'return' link"):
        data.add_incoming(first, "return", "result")


def test_pending_links_are_checked_and_written_on_store(store: SqliteTempBackend) -> None:
    calc = Node(store, CALC)
    data = stored(store, DATA)
    calc.add_incoming(data, "input_calc", "x")
    with pytest.raises(ValueError, match="labelled 'x'"):
        calc.add_incoming(stored(store, DATA), "input_calc", "x")
    assert calc.get_incoming().all_link_labels() == ["x"]
    calc.store()
    assert data.get_outgoing().all_nodes() == [calc]
    assert data.get_outgoing().one() == (calc, LinkType.INPUT_CALC, "x")


def test_get_incoming_filters(store: SqliteTempBackend) -> None:
    calc = stored(store, CALC)
    inputs = {label: stored(store, DATA) for label in ("alpha", "Alpha", "beta")}
    for label, node in inputs.items():
        calc.add_incoming(node, "input_calc", label)
    work = stored(store, WORK)
    calc.add_incoming(work, "call_calc", "call")
    incoming = calc.get_incoming()
    assert len(incoming) == 4
    assert calc.get_incoming(link_type="call_calc").all_nodes() == [work]
    assert calc.get_incoming(link_label_filter="a%").all_link_labels() == ["alpha"]
    assert sorted(
        calc.get_incoming(link_type=[LinkType.INPUT_CALC], link_label_filter="%lpha").all_link_labels()
    ) == [
        "Alpha",
        "alpha",
    ]
    assert incoming.get_node_by_label("beta") == inputs["beta"]
    assert calc.get_outgoing().first() is None


def test_a_store_whose_pending_link_fails_at_commit_writes_nothing(store: SqliteTempBackend) -> None:
    data, other = stored(store, DATA), stored(store, DATA)
    calc = Node(store, CALC)
    calc.add_incoming(data, "input_calc", "x")
    # The input disappears behind the entity layer's back (the other node keeps its id from being
    # reused): only SQLite's deferred foreign key check, at commit, sees the link to nothing.
    with store.raw_transaction() as connection:
        connection.execute("DELETE FROM db_dbnode WHERE id = ?", (data.pk,))
    with pytest.raises(IntegrityError, match="could not be committed"):
        calc.store()
    assert not calc.is_stored
    assert store.read_sql("SELECT id FROM db_dbnode") == [(other.pk,)]
    assert store.read_sql("SELECT COUNT(*) FROM db_dblink") == [(0,)]
