"""A test that leaves a query iterator open (a live statement on the database) across resets.

aiida-core's own SQLite storage cannot even reset then ("database is locked");
restoring by ``deserialize()`` could crash the process on SQLite 3.40.
"""

from aiida import orm

LEFT_BEHIND = {}


def test_leaves_an_open_iterator_behind(aiida_profile_clean):
    for value in range(3):
        orm.Int(value).store()
    iterator = orm.QueryBuilder().append(orm.Int, project="id").iterall(batch_size=1)
    next(iterator)
    LEFT_BEHIND["iterator"] = iterator


def test_next_test_gets_a_clean_working_profile(aiida_profile_clean):
    assert orm.QueryBuilder().append(orm.Node).count() == 0
    orm.Int(10).store()
    assert orm.QueryBuilder().append(orm.Int, project="attributes.value").all(flat=True) == [10]


def test_and_the_one_after(aiida_profile_clean):
    assert orm.QueryBuilder().append(orm.Node).count() == 0
    group = orm.Group(label="after").store()
    group.add_nodes(orm.SinglefileData.from_string("x", filename="x.txt").store())
    assert len(orm.load_group("after").nodes) == 1
