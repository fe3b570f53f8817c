"""A state machine over the public storage API, checked against a plain-Python model.

It drives transactions (nested, with failures at every level), bulk inserts and
updates (including batches that must fail whole), node deletion, global
variables, repository puts and deletes, ``_clear``, ``snapshot`` and
``restore``, and after every step compares the store with the model.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.exceptions import IntegrityError

from .conftest import node_row

labels = st.text(alphabet="abcdef", max_size=4)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)
contents = st.binary(max_size=64)


class Failure(Exception):
    """Raised on purpose inside a transaction block."""


@dataclass
class Model:
    nodes: dict[str, str] = field(default_factory=dict)  # uuid -> label
    globals: dict[str, object] = field(default_factory=dict)
    objects: dict[str, bytes] = field(default_factory=dict)


# A transaction plan: a list of steps; a step is a label to insert or a nested (plan, fails) block.
plans = st.recursive(
    st.lists(labels, max_size=3),
    lambda inner: st.lists(labels | st.tuples(inner, st.booleans()), max_size=3),
    max_leaves=6,
)


class StoreMachine(RuleBasedStateMachine):
    snapshots = Bundle("snapshots")

    def __init__(self) -> None:
        super().__init__()
        self.store = SqliteTempBackend(SqliteTempBackend.create_profile())
        self.model = Model()

    def teardown(self) -> None:
        self.store.close()

    def _insert(self, label: str) -> str:
        row = node_row(self.store.default_user_id, label=label)
        self.store.bulk_insert("node", [row])
        return row["uuid"]

    def _run(self, plan: list[object], fails: bool, added: dict[str, str]) -> None:
        """Run a plan in one transaction block; record in ``added`` what it kept."""
        kept: dict[str, str] = {}
        try:
            with self.store.transaction():
                for step in plan:
                    if isinstance(step, str):
                        kept[self._insert(step)] = step
                    else:
                        inner_plan, inner_fails = step
                        self._run(inner_plan, inner_fails, kept)
                if fails:
                    raise Failure
        except Failure:
            return
        added.update(kept)

    @rule(plan=plans, fails=st.booleans())
    def transaction(self, plan: list[object], fails: bool) -> None:
        added: dict[str, str] = {}
        self._run(plan, fails, added)
        self.model.nodes.update(added)

    @rule(new_labels=st.lists(labels, max_size=5), duplicate=st.booleans())
    def bulk_insert(self, new_labels: list[str], duplicate: bool) -> None:
        rows = [node_row(self.store.default_user_id, label=label) for label in new_labels]
        if duplicate and rows:
            rows.append(dict(rows[0]))
            try:
                self.store.bulk_insert("node", rows)
            except IntegrityError:
                return
            raise AssertionError("a duplicate uuid was accepted")
        self.store.bulk_insert("node", rows)
        self.model.nodes.update({row["uuid"]: row["label"] for row in rows})

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), label=labels, with_unknown=st.booleans())
    def bulk_update(self, data: st.DataObject, label: str, with_unknown: bool) -> None:
        target = data.draw(st.sampled_from(sorted(self.model.nodes)))
        pk = self._pk(target)
        rows = [{"id": pk, "label": label}]
        if with_unknown:
            rows.append({"id": 10**9, "label": label})
            try:
                self.store.bulk_update("node", rows)
            except KeyError:
                return
            raise AssertionError("an unknown id was accepted")
        self.store.bulk_update("node", rows)
        self.model.nodes[target] = label

    @precondition(lambda self: self.model.nodes)
    @rule(data=st.data(), fails=st.booleans())
    def delete_nodes(self, data: st.DataObject, fails: bool) -> None:
        doomed = data.draw(st.sets(st.sampled_from(sorted(self.model.nodes)), max_size=3))
        pks = [self._pk(node_uuid) for node_uuid in doomed]
        try:
            with self.store.transaction():
                self.store.delete_nodes_and_connections(pks)
                if fails:
                    raise Failure
        except Failure:
            return
        for node_uuid in doomed:
            del self.model.nodes[node_uuid]

    @rule(key=st.sampled_from(["a", "b", "c"]), value=json_values, overwrite=st.booleans())
    def set_global(self, key: str, value: object, overwrite: bool) -> None:
        if key in self.model.globals and not overwrite:
            try:
                self.store.set_global_variable(key, value, overwrite=False)
            except ValueError:
                return
            raise AssertionError("overwrite=False replaced a value")
        self.store.set_global_variable(key, value, overwrite=overwrite)
        self.model.globals[key] = value

    @rule(content=contents)
    def put_object(self, content: bytes) -> None:
        key = self.store.get_repository().put_object_from_filelike(io.BytesIO(content))
        self.model.objects[key] = content

    @precondition(lambda self: self.model.objects)
    @rule(data=st.data())
    def delete_object(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.objects)))
        self.store.get_repository().delete_objects([key])
        del self.model.objects[key]

    @rule()
    def clear(self) -> None:
        self.store._clear()
        self.model = Model()

    @rule(target=snapshots)
    def snapshot(self) -> tuple[object, Model]:
        return self.store.snapshot(), copy.deepcopy(self.model)

    @rule(saved=consumes(snapshots))
    def restore(self, saved: tuple[object, Model]) -> None:
        snapshot, model = saved
        self.store.restore(snapshot)  # type: ignore[arg-type]
        self.model = copy.deepcopy(model)

    def _pk(self, node_uuid: str) -> int:
        with self.store.transaction() as session:
            return int(
                session.connection()
                .exec_driver_sql("SELECT id FROM db_dbnode WHERE uuid = ?", (node_uuid,))
                .scalar_one()
            )

    @invariant()
    def store_matches_model(self) -> None:
        with self.store.transaction() as session:
            connection = session.connection()
            nodes = dict(connection.exec_driver_sql("SELECT uuid, label FROM db_dbnode").all())
            users = connection.exec_driver_sql("SELECT email FROM db_dbuser").scalars().all()
            settings_keys = set(connection.exec_driver_sql("SELECT key FROM db_dbsetting").scalars())
        assert nodes == self.model.nodes
        assert self.store.get_info()["entities"]["Nodes"]["count"] == len(nodes)
        assert users == ["user@email.com"]
        stored_globals = {
            key: self.store.get_global_variable(key) for key in ("a", "b", "c") if key in settings_keys
        }
        assert stored_globals == self.model.globals
        repository = self.store.get_repository()
        assert sorted(repository.list_objects()) == sorted(self.model.objects)
        for key, content in self.model.objects.items():
            assert repository.get_object_content(key) == content
        assert not self.store.in_transaction


StoreMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestStore = StoreMachine.TestCase
