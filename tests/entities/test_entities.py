"""Entities and collections: creating, storing, reading back, finding and deleting."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pytest_tempstore.exceptions import (
    ClosedStorage,
    InputValidationError,
    IntegrityError,
    MultipleObjectsError,
    NotExistent,
    TempStoreError,
)
from pytest_tempstore.storage.entities import (
    AuthInfo,
    Comment,
    Computer,
    Group,
    Log,
    ModificationNotAllowed,
    Node,
    NodeKind,
    User,
)

if TYPE_CHECKING:
    from pytest_tempstore.storage.backend import SqliteTempBackend

INT = "data.core.int.Int."
CALC = "process.calculation.calcfunction.CalcFunctionNode."
WORK = "process.workflow.workfunction.WorkFunctionNode."


def test_node_round_trip(store: SqliteTempBackend) -> None:
    node = store.nodes.create(INT, label="x", description="d", attributes={"value": 1}, extras={"e": [1]})
    assert not node.is_stored
    assert node.pk is None
    assert node.uuid is None
    assert node.store() is node
    again = store.nodes.get(uuid=node.uuid)
    assert again == node
    assert hash(again) == hash(node)
    assert (again.node_type, again.label, again.description) == (INT, "x", "d")
    assert dict(again.attributes) == {"value": 1}
    assert dict(again.extras) == {"e": [1]}
    assert again.user == store.default_user
    assert again.computer is None
    assert again.kind is NodeKind.DATA
    assert again.ctime is not None
    assert again.ctime.tzinfo is UTC


def test_read_only_columns_refuse_assignment_and_editable_ones_bump_mtime(store: SqliteTempBackend) -> None:
    node = Node(store, "data.core.int.Int.", label="before").store()
    group = Group(store, "g").store()
    for entity, column in [(node, "node_type"), (node, "uuid"), (node, "ctime"), (group, "type_string")]:
        before = getattr(entity, column)
        with pytest.raises(AttributeError, match=f"{column} cannot be changed"):
            setattr(entity, column, "changed")
        assert getattr(entity, column) == before
    mtime, pk = node.mtime, node.pk
    assert mtime is not None
    assert pk is not None
    node.label = "after"
    assert Node.from_pk(store, pk).label == "after"
    assert node.mtime is not None
    assert node.mtime >= mtime
    assert Node.label.__doc__ == "A short label."  # the column's documentation, for help()


def test_json_columns_read_as_copies_and_assignment_replaces_them(store: SqliteTempBackend) -> None:
    computer = Computer(store, "localhost", metadata={"a": 1}).store()
    authinfo = AuthInfo(
        store, computer, store.default_user, auth_params={"key": "v"}, metadata={"m": 0}
    ).store()
    group = Group(store, "g", extras={"x": 1}).store()
    for entity, column, value in [
        (computer, "metadata", {"b": (1, 2)}),
        (authinfo, "auth_params", {"key": "w"}),
        (authinfo, "metadata", {"m": None}),
        (group, "extras", {"y": {"z": True}}),
    ]:
        getattr(entity, column).clear()  # a copy: nothing stored changes
        assert getattr(entity, column) != {}
        setattr(entity, column, value)
        again = type(entity).from_pk(store, entity.pk)
        assert getattr(again, column) == {
            key: list(item) if isinstance(item, tuple) else item for key, item in value.items()
        }

    with pytest.raises(InputValidationError, match="computer metadata"):
        computer.metadata = {"nan": float("nan")}
    with pytest.raises(InputValidationError, match=r"extra key 'a\.b'"):
        group.extras = {"a.b": 1}
    assert computer.metadata == {"b": [1, 2]}
    assert group.extras == {"y": {"z": True}}

    node = Node(store, "data.core.int.Int.").store()
    log = Log(store, node, "aiida.calc", "REPORT", "hello", metadata={"n": 1}).store()
    for entity, column in [(log, "metadata"), (node, "repository_metadata")]:
        with pytest.raises(AttributeError, match=f"{column} cannot be changed"):
            setattr(entity, column, {})
    assert log.metadata == {"n": 1}


def test_default_user_is_the_profile_user(store: SqliteTempBackend) -> None:
    assert store.default_user.email == "user@email.com"
    assert store.users.get(email="user@email.com") == store.default_user


def test_get_raises_not_existent_and_multiple(store: SqliteTempBackend) -> None:
    with pytest.raises(NotExistent):
        store.nodes.get(pk=12345)
    Node(store, INT, label="same").store()
    Node(store, INT, label="same").store()
    with pytest.raises(MultipleObjectsError):
        store.nodes.get(label="same")
    with pytest.raises(InputValidationError, match="valid columns"):
        store.nodes.get(colour="red")
    with pytest.raises(InputValidationError):
        store.nodes.get()


def test_count_iteration_all_and_delete(store: SqliteTempBackend) -> None:
    nodes = [Node(store, INT, attributes={"value": index}).store() for index in range(3)]
    assert store.nodes.count() == len(store.nodes) == 3
    assert list(store.nodes) == store.nodes.all() == nodes
    store.nodes.delete(nodes[0].pk)  # type: ignore[arg-type]
    assert store.nodes.count() == 2
    with pytest.raises(NotExistent):
        store.nodes.delete(nodes[0].pk)  # type: ignore[arg-type]
    with pytest.raises(NotExistent):
        nodes[0].label  # noqa: B018 - reading a deleted node


def test_delete_refuses_a_linked_node(store: SqliteTempBackend) -> None:
    source = Node(store, INT).store()
    calc = Node(store, CALC)
    calc.add_incoming(source, "input_calc", "x")
    calc.store()
    with pytest.raises(IntegrityError, match="links"):
        store.nodes.delete(source.pk)  # type: ignore[arg-type]


def test_stored_data_attributes_are_immutable_extras_are_not(store: SqliteTempBackend) -> None:
    node = Node(store, INT, attributes={"value": 1}).store()
    with pytest.raises(ModificationNotAllowed):
        node.attributes["value"] = 2
    with pytest.raises(ModificationNotAllowed):
        del node.attributes["value"]
    with pytest.raises(ModificationNotAllowed):
        node.repository.put_object_from_bytes(b"x", "a.txt")
    assert issubclass(ModificationNotAllowed, TempStoreError)
    assert issubclass(ModificationNotAllowed, TypeError)
    node.extras.set("tag", "kept")
    node.extras["other"] = 1
    node.extras.delete("other")
    assert dict(node.extras) == {"tag": "kept"}
    assert dict(node.attributes) == {"value": 1}


def test_process_attributes_stay_mutable_and_mtime_moves(store: SqliteTempBackend) -> None:
    calc = Node(store, CALC).store()
    before = calc.mtime
    calc.attributes["exit_status"] = 0
    assert calc.attributes["exit_status"] == 0
    assert calc.mtime is not None
    assert before is not None
    assert calc.mtime >= before


def test_two_handles_see_the_same_row(store: SqliteTempBackend) -> None:
    node = Node(store, INT).store()
    other = store.nodes.get(pk=node.pk)
    other.label = "renamed"
    other.extras["k"] = 1
    assert node.label == "renamed"
    assert node.extras["k"] == 1


def test_bulk_update_is_visible_to_entities(store: SqliteTempBackend) -> None:
    node = Node(store, INT).store()
    store.bulk_update("node", [{"id": node.pk, "label": "bulk"}])
    assert node.label == "bulk"


@pytest.mark.parametrize(
    ("key", "value"),
    [("a.b", 1), ("", 1), (1, 1), ("ok", object()), ("ok", float("nan")), ("ok", {1, 2})],
)
def test_bad_attribute_keys_and_values(store: SqliteTempBackend, key: object, value: object) -> None:
    node = Node(store, CALC)
    with pytest.raises(InputValidationError):
        node.attributes.set(key, value)  # type: ignore[arg-type]


def test_bad_node_type(store: SqliteTempBackend) -> None:
    with pytest.raises(InputValidationError, match="node_type"):
        Node(store, "data.core.int.Int")


def test_computer_of_a_stored_node_cannot_change(store: SqliteTempBackend) -> None:
    computer = Computer(store, "localhost", hostname="localhost", metadata={"a": 1}).store()
    node = Node(store, CALC, computer=computer).store()
    assert node.computer == computer
    assert computer.metadata == {"a": 1}
    with pytest.raises(ModificationNotAllowed):
        node.computer = None


def test_users_computers_and_authinfos(store: SqliteTempBackend) -> None:
    user = User(store, "ada@example.com", first_name="Ada").store()
    created, same = store.users.get_or_create("ada@example.com")
    assert not created
    assert same == user
    assert same.first_name == "Ada"
    with pytest.raises(IntegrityError):
        User(store, "ada@example.com").store()
    computer = store.computers.create("cluster", hostname="c").store()
    authinfo = AuthInfo(store, computer, user, auth_params={"key": "v"}).store()
    assert computer.get_authinfo(user) == authinfo
    assert authinfo.enabled
    assert authinfo.auth_params == {"key": "v"}
    authinfo.enabled = False
    assert not store.authinfos.get(pk=authinfo.pk).enabled
    with pytest.raises(NotExistent):
        computer.get_authinfo(store.default_user)
    with pytest.raises(InputValidationError):
        AuthInfo(store, store.computers.create("unstored"))


def test_groups(store: SqliteTempBackend) -> None:
    nodes = [Node(store, INT).store() for _ in range(3)]
    group = Group(store, "g", description="test").store()
    assert group.type_string == "core"
    assert group.is_empty
    group.add_nodes(nodes[:2])
    group.add_nodes(nodes[0])  # already there: skipped
    assert group.count() == 2
    assert group.nodes == nodes[:2]
    group.remove_nodes(nodes[0])
    assert group.nodes == [nodes[1]]
    store.nodes.delete(nodes[1].pk)  # type: ignore[arg-type]
    assert group.count() == 0
    with pytest.raises(IntegrityError):
        Group(store, "g").store()
    Group(store, "g", type_string="core.import").store()
    store.groups.delete(group.pk)  # type: ignore[arg-type]
    assert store.groups.count() == 1
    with pytest.raises(InputValidationError):
        group.add_nodes([Node(store, INT)])


def test_comments_and_logs(store: SqliteTempBackend) -> None:
    node = Node(store, CALC).store()
    first = node.add_comment("first")
    second = Comment(store, node, "second").store()
    assert node.get_comments() == [first, second]
    assert first.node == node
    assert first.user == store.default_user
    before = first.mtime
    first.content = "edited"
    assert store.comments.get(pk=first.pk).content == "edited"
    assert first.mtime is not None
    assert before is not None
    assert first.mtime >= before
    when = datetime(2024, 1, 1, tzinfo=UTC)
    log = Log(store, node, "aiida.calc", "REPORT", "hello", metadata={"n": 1}, time=when).store()
    assert node.get_logs() == [log]
    assert log.time == when
    assert log.metadata == {"n": 1}
    assert log.message == "hello"
    with pytest.raises(InputValidationError):
        Log(store, node, "x", "")
    store.nodes.delete(node.pk)  # type: ignore[arg-type]
    assert store.comments.count() == 0
    assert store.logs.count() == 0


def test_closed_store(store: SqliteTempBackend) -> None:
    node = Node(store, INT)
    store.close()
    with pytest.raises(ClosedStorage):
        node.store()
    with pytest.raises(ClosedStorage):
        Node(store, INT)


def test_repository_files(store: SqliteTempBackend) -> None:
    node = Node(store, CALC)
    key = node.repository.put_object_from_filelike(io.BytesIO(b"hello"), "sub/dir/a.txt")
    node.repository.put_object_from_bytes(b"", "empty.txt")
    node.store()
    assert node.repository_metadata == {
        "o": {
            "sub": {"o": {"dir": {"o": {"a.txt": {"k": key}}}}},
            "empty.txt": {"k": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        }
    }
    assert node.repository.get_object_content("sub/dir/a.txt") == b"hello"
    with node.repository.open("sub/dir/a.txt") as handle:
        assert handle.read() == b"hello"
    assert node.repository.list_object_names() == ["empty.txt", "sub"]
    assert node.repository.list_object_names("sub") == ["dir"]
    assert [(str(root), dirs, files) for root, dirs, files in node.repository.walk()] == [
        (".", ["sub"], ["empty.txt"]),
        ("sub", ["dir"], []),
        ("sub/dir", [], ["a.txt"]),
    ]
    node.repository.delete_object("empty.txt")
    assert node.repository.list_object_names() == ["sub"]
    with pytest.raises(FileNotFoundError):
        node.repository.get_object_content("empty.txt")
    with pytest.raises(IsADirectoryError):
        node.repository.get_object_content("sub")
    with pytest.raises(IsADirectoryError):
        node.repository.put_object_from_bytes(b"x", "sub")
    with pytest.raises(NotADirectoryError):
        node.repository.put_object_from_bytes(b"x", "sub/dir/a.txt/b")
    with pytest.raises(FileNotFoundError):
        node.repository.list_object_names("nowhere")


@pytest.mark.parametrize("path", ["/abs.txt", "../up.txt", "a/../../b", "", "a\\b"])
def test_bad_repository_paths(store: SqliteTempBackend, path: str) -> None:
    with pytest.raises(InputValidationError):
        Node(store, CALC).repository.put_object_from_bytes(b"x", path)
