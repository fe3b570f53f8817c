"""What a plugin's tests rely on from aiida-core's deprecated fixtures; passes on aiida's own storage."""

import pytest
from aiida import orm


def count(entity_type=orm.Node):
    return orm.QueryBuilder().append(entity_type).count()


@pytest.mark.parametrize("round_number", range(2))
def test_clean_profile_starts_empty(aiida_profile_clean, round_number):
    assert count() == 0
    assert orm.User.collection.get_default().email == "test@aiida.local"
    orm.Group(label="group").store().add_nodes(orm.Int(round_number).store())
    assert count() == 1


@pytest.mark.parametrize("round_number", range(2))
def test_clear_database_before_test(clear_database_before_test, round_number):
    assert count() == 0
    orm.Int(round_number).store()


def test_local_code_factory(aiida_profile_clean, aiida_local_code_factory):
    code = aiida_local_code_factory(entry_point="core.arithmetic.add", executable="bash")
    assert code.computer.label == "localhost"
    assert count(orm.Computer) == 1


def test_clear_profile_by_hand(aiida_profile):
    orm.Int(1).store()
    aiida_profile.clear_profile()
    assert count() == 0
    assert orm.User.collection.get_default().email == "test@aiida.local"
