"""A state machine over the graph part of the storage API: links, groups and their members.

It complements ``tests/storage/test_stateful.py`` (nodes, nested transactions,
globals, repository, ``_clear``, snapshots) and ``tests/test_repository.py``'s
machine: here ``bulk_insert`` of links and group members with batches that must
fail whole, ``bulk_update`` of groups and links with unknown ids, and
``delete_nodes_and_connections`` taking links and memberships with it, inside
transactions that may fail, mixed with ``_clear``, ``snapshot`` and ``restore``.
The store is compared with a plain-Python model after every step.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.exceptions import IntegrityError, NotExistent

labels = st.text(alphabet="xyz", min_size=1, max_size=3)
MISSING = 10**9


class Failure(Exception):
    """Raised on purpose inside a transaction block."""


@dataclass
class Graph:
    nodes: set[str] = field(default_factory=set)
    links: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    groups: dict[str, str] = field(default_factory=dict)  # uuid -> label
    members: set[tuple[str, str]] = field(default_factory=set)  # (group uuid, node uuid)


class GraphMachine(RuleBasedStateMachine):
    snapshots = Bundle("snapshots")

    def __init__(self) -> None:
        super().__init__()
        self.store = SqliteTempBackend(SqliteTempBackend.create_profile())
        self.model = Graph()

    def teardown(self) -> None:
        self.store.close()

    def _ids(self, table: str) -> dict[str, int]:
        with self.store.transaction() as session:
            rows = session.connection().exec_driver_sql(f"SELECT uuid, id FROM {table}").all()
        return dict(rows)  # type: ignore[arg-type]

    @rule(count=st.integers(1, 3))
    def add_nodes(self, count: int) -> None:
        rows = [{"uuid": str(uuid.uuid4()), "user_id": self.store.default_user_id} for _ in range(count)]
        self.store.bulk_insert("node", rows, allow_defaults=True)
        self.model.nodes.update(row["uuid"] for row in rows)

    @rule(label=labels)
    def add_group(self, label: str) -> None:
        group_uuid = str(uuid.uuid4())
        self.store.bulk_insert(
            "group",
            [{"uuid": group_uuid, "label": label + group_uuid[:8], "user_id": self.store.default_user_id}],
            True,
        )
        self.model.groups[group_uuid] = label + group_uuid[:8]

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), broken=st.booleans())
    def add_links(self, data: st.DataObject, broken: bool) -> None:
        nodes = sorted(self.model.nodes)
        triples = data.draw(
            st.lists(
                st.tuples(st.sampled_from(nodes), st.sampled_from(nodes), labels), min_size=1, max_size=4
            )
        )
        ids = self._ids("db_dbnode")
        rows = [
            {"input_id": ids[source], "output_id": ids[target], "type": "create", "label": label}
            for source, target, label in triples
        ]
        if broken:
            rows.insert(data.draw(st.integers(0, len(rows))), {**rows[0], "output_id": MISSING})
            try:
                self.store.bulk_insert("link", rows)
            except IntegrityError:
                return
            raise AssertionError("a link to a missing node was accepted")
        self.store.bulk_insert("link", rows)
        self.model.links.update(triples)

    @precondition(lambda self: self.model.nodes and self.model.groups)
    @rule(data=st.data(), broken=st.booleans())
    def add_members(self, data: st.DataObject, broken: bool) -> None:
        candidates = sorted((group, node) for group in self.model.groups for node in self.model.nodes)
        new = [pair for pair in candidates if pair not in self.model.members]
        if not new:
            return
        pairs = data.draw(st.lists(st.sampled_from(new), min_size=1, max_size=3, unique=True))
        groups, nodes = self._ids("db_dbgroup"), self._ids("db_dbnode")
        rows = [{"dbgroup_id": groups[group], "dbnode_id": nodes[node]} for group, node in pairs]
        if broken:
            rows.append({"dbgroup_id": groups[pairs[0][0]], "dbnode_id": MISSING})
            try:
                self.store.bulk_insert("group_node", rows)
            except IntegrityError:
                return
            raise AssertionError("a membership of a missing node was accepted")
        self.store.bulk_insert("group_node", rows)
        self.model.members.update(pairs)

    @precondition(lambda self: self.model.groups)
    @rule(data=st.data(), label=labels, with_unknown=st.booleans())
    def relabel_group(self, data: st.DataObject, label: str, with_unknown: bool) -> None:
        group = data.draw(st.sampled_from(sorted(self.model.groups)))
        rows = [{"id": self._ids("db_dbgroup")[group], "label": label + group[:8]}]
        if with_unknown:
            rows.append({"id": MISSING, "label": "never"})
            try:
                self.store.bulk_update("group", rows)
            except NotExistent:
                return
            raise AssertionError("an unknown group id was accepted")
        self.store.bulk_update("group", rows)
        self.model.groups[group] = label + group[:8]

    @precondition(lambda self: self.model.links)
    @rule(data=st.data(), label=labels, with_unknown=st.booleans())
    def relabel_link(self, data: st.DataObject, label: str, with_unknown: bool) -> None:
        source, target, old = data.draw(st.sampled_from(sorted(self.model.links)))
        nodes = self._ids("db_dbnode")
        with self.store.transaction() as session:
            link_id = (
                session.connection()
                .exec_driver_sql(
                    "SELECT MIN(id) FROM db_dblink WHERE input_id = ? AND output_id = ? AND label = ?",
                    (nodes[source], nodes[target], old),
                )
                .scalar_one()
            )
        rows = [{"id": link_id, "label": label}]
        if with_unknown:
            rows.insert(0, {"id": MISSING, "label": "never"})
            try:
                self.store.bulk_update("link", rows)
            except NotExistent:
                return
            raise AssertionError("an unknown link id was accepted")
        self.store.bulk_update("link", rows)
        self.model.links[(source, target, old)] -= 1
        self.model.links[(source, target, label)] += 1
        self.model.links = +self.model.links  # drop the zero counts

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), fails=st.booleans(), nested=st.booleans())
    def delete_nodes(self, data: st.DataObject, fails: bool, nested: bool) -> None:
        doomed = data.draw(st.sets(st.sampled_from(sorted(self.model.nodes)), min_size=1, max_size=3))
        ids = self._ids("db_dbnode")
        try:
            with self.store.transaction():
                if nested:
                    with self.store.transaction():
                        self.store.delete_nodes_and_connections(ids[node] for node in doomed)
                else:
                    self.store.delete_nodes_and_connections(ids[node] for node in doomed)
                if fails:
                    raise Failure
        except Failure:
            return
        self.model.nodes -= doomed
        self.model.links = Counter(
            {
                link: n
                for link, n in self.model.links.items()
                if link[0] not in doomed and link[1] not in doomed
            }
        )
        self.model.members = {pair for pair in self.model.members if pair[1] not in doomed}

    @rule()
    def clear(self) -> None:
        self.store._clear()
        self.model = Graph()

    @rule(target=snapshots)
    def snapshot(self) -> tuple[object, Graph]:
        return self.store.snapshot(), copy.deepcopy(self.model)

    @rule(saved=consumes(snapshots))
    def restore(self, saved: tuple[object, Graph]) -> None:
        snapshot, model = saved
        self.store.restore(snapshot)  # type: ignore[arg-type]
        self.model = copy.deepcopy(model)

    @invariant()
    def store_matches_model(self) -> None:
        with self.store.transaction() as session:
            connection = session.connection()
            nodes = dict(connection.exec_driver_sql("SELECT id, uuid FROM db_dbnode").all())
            groups = dict(connection.exec_driver_sql("SELECT uuid, label FROM db_dbgroup").all())
            group_uuids = dict(connection.exec_driver_sql("SELECT id, uuid FROM db_dbgroup").all())
            links = Counter(
                (nodes[source], nodes[target], label)
                for source, target, label in connection.exec_driver_sql(
                    "SELECT input_id, output_id, label FROM db_dblink"
                ).all()
            )
            members = {
                (group_uuids[group], nodes[node])
                for group, node in connection.exec_driver_sql(
                    "SELECT dbgroup_id, dbnode_id FROM db_dbgroup_dbnodes"
                ).all()
            }
        assert set(nodes.values()) == self.model.nodes
        assert groups == self.model.groups
        assert links == self.model.links
        assert members == self.model.members
        assert not self.store.in_transaction


GraphMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestGraph = GraphMachine.TestCase
