"""What a plugin's tests rely on from aiida-core's modern fixtures; passes on aiida's own storage."""

import pytest
from aiida import orm
from aiida.common.exceptions import ClosedStorage, NotExistent
from aiida.engine import calcfunction, run_get_node, workfunction
from aiida.manage import get_manager

#: Objects that one test leaves behind for a later one.
LEFT_BEHIND = {}


def count(entity_type=orm.Node):
    return orm.QueryBuilder().append(entity_type).count()


def store_content():
    nodes = [orm.Int(value).store() for value in range(3)]
    group = orm.Group(label="group").store()
    group.add_nodes(nodes)
    orm.SinglefileData.from_string("content", filename="file.txt").store()
    return nodes


@calcfunction
def add(left, right):
    return left + right


@workfunction
def add_twice(left, right):
    return add(add(left, right), right)


@pytest.mark.parametrize("round_number", range(3))
def test_clean_profile_starts_empty(aiida_profile_clean, round_number):
    assert (count(), count(orm.Group), count(orm.Computer)) == (0, 0, 0)
    assert [user.email for user in orm.User.collection.all()] == ["test@localhost"]
    assert orm.User.collection.get_default().email == "test@localhost"
    store_content()
    assert (count(), count(orm.Group)) == (4, 1)


def test_file_content_is_readable(aiida_profile_clean):
    node = orm.SinglefileData.from_string("hello", filename="a.txt").store()
    assert orm.load_node(node.pk).get_content() == "hello"
    assert node.base.repository.list_object_names() == ["a.txt"]


def test_leaves_objects_behind(aiida_profile_clean):
    store_content()
    LEFT_BEHIND["stored"] = orm.Int(7).store()
    LEFT_BEHIND["unstored"] = orm.Int(8)
    LEFT_BEHIND["runner"] = get_manager().get_runner()
    get_manager().get_profile_storage().autogroup.enable()


def test_nothing_of_an_earlier_test_reaches_this_one(aiida_profile_clean):
    assert count() == 0
    new = orm.Int(1).store()
    with pytest.raises(ClosedStorage):
        LEFT_BEHIND["stored"].label = "changed"
    with pytest.raises(ClosedStorage):
        LEFT_BEHIND["unstored"].store()
    assert orm.load_node(new.pk).label == ""
    assert get_manager().get_runner() is not LEFT_BEHIND["runner"]
    assert not get_manager().get_profile_storage().autogroup.is_to_be_grouped(new)
    store_content()
    assert count() == 5


def test_processes_record_provenance(aiida_profile_clean):
    result, node = run_get_node(add_twice, left=orm.Int(1), right=orm.Int(2))
    assert result.value == 5
    assert node.is_finished_ok
    assert len(node.called) == 2
    assert count(orm.CalcFunctionNode) == 2


def test_delete_nodes_removes_provenance(aiida_profile_clean):
    from aiida.tools import delete_nodes

    _, node = run_get_node(add, left=orm.Int(1), right=orm.Int(2))
    node.base.comments.add("a comment")
    node.logger.warning("a log")
    group = orm.Group(label="with call").store()
    group.add_nodes(node)
    pk = node.pk
    deleted, was_deleted = delete_nodes([pk], dry_run=False)
    assert was_deleted
    assert pk in deleted
    with pytest.raises(NotExistent):
        orm.load_node(pk)
    assert count(orm.CalcFunctionNode) == 0
    assert count(orm.Comment) == 0
    assert count(orm.Log) == 0
    assert len(orm.load_group(group.pk).nodes) == 0


def test_localhost_and_code(aiida_profile_clean, aiida_localhost, aiida_code_installed):
    code = aiida_code_installed(
        default_calc_job_plugin="core.arithmetic.add", filepath_executable="/bin/bash"
    )
    assert code.computer.uuid == aiida_localhost.uuid
    assert count(orm.Computer) == 1
    assert orm.load_code(code.pk).get_executable().name == "bash"


class TestSharedWithinTheClass:
    def test_first_stores(self, aiida_profile_clean_class):
        assert count() == 0
        store_content()

    def test_second_sees_it(self, aiida_profile_clean_class):
        assert count() == 4


def test_temporary_profile_is_separate(aiida_profile, aiida_profile_tmp):
    assert aiida_profile_tmp.name != aiida_profile.name
    assert count() == 0
    store_content()
    assert count() == 4


def test_session_profile_is_back(aiida_profile):
    assert get_manager().get_profile().name == aiida_profile.name


def test_postgresql_profile_is_left_alone(aiida_config_tmp, aiida_profile_factory):
    storage_config = {
        "database_engine": "postgresql_psycopg",
        "database_hostname": "127.0.0.1",
        "database_port": 9,
        "database_name": "nothing",
        "database_username": "nobody",
        "database_password": "nothing",
        "repository_uri": "file:///nonexistent",
    }
    with pytest.raises(Exception, match=r"(?i)connect|postgres|initiali"):  # noqa: SIM117
        with aiida_profile_factory(
            aiida_config_tmp, storage_backend="core.psql_dos", storage_config=storage_config
        ):
            pass


def test_needs_the_daemon(aiida_profile_clean, started_daemon_client):
    assert started_daemon_client.is_daemon_running
