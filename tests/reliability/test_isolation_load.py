"""Isolation under load: 5,000 generated tests shuffled by pytest-randomly with three seeds, and ``-n 2``.

Each test first checks that its store holds nothing but the default user, then
writes a row, a global variable and an object of its own: a single leak between
tests fails the run. Each run takes some tens of seconds (pytest's own cost per
test and the test's five store operations, not the fixture).
"""

from __future__ import annotations

import pytest

TESTS = 5000

SUITE = f"""
    import io
    import pytest
    from pytest_tempstore import current_store

    LEAKS = (
        "SELECT (SELECT COUNT(*) FROM db_dbnode) + (SELECT COUNT(*) FROM db_dbsetting) "
        "+ (SELECT COUNT(*) FROM db_dbgroup) + (SELECT COUNT(*) FROM db_dblink) "
        "+ (SELECT COUNT(*) FROM db_dbcomputer) + (SELECT COUNT(*) FROM db_dbcomment), "
        "(SELECT COUNT(*) FROM db_dbuser)"
    )

    @pytest.mark.parametrize("n", range({TESTS}))
    def test_sees_only_its_own(tempstore, n):
        assert current_store() is tempstore
        with tempstore.transaction() as session:
            assert tuple(session.connection().exec_driver_sql(LEAKS).one()) == (0, 1)
        repository = tempstore.get_repository()
        assert not repository.list_objects()
        tempstore.bulk_insert("node", [{{"label": str(n), "user_id": tempstore.default_user_id}}], True)
        tempstore.set_global_variable("owner", n)
        repository.put_object_from_filelike(io.BytesIO(str(n).encode()))
"""

# Plugins that play no part here and cost time per test.
QUIET = ("-p", "no:logging", "-p", "no:cacheprovider")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_load=SUITE)


@pytest.mark.parametrize("seed", [1, 20240517, 987654321])
def test_shuffled_by_pytest_randomly(suite, runpytest_subprocess, seed):
    result = runpytest_subprocess(*QUIET, "-p", "randomly", f"--randomly-seed={seed}", timeout=300)
    result.stdout.fnmatch_lines([f"Using --randomly-seed={seed}"])
    result.assert_outcomes(passed=TESTS)


def test_two_xdist_workers(suite, runpytest_subprocess):
    result = runpytest_subprocess(*QUIET, "-n", "2", "-p", "randomly", "--randomly-seed=7", "-q", timeout=300)
    result.assert_outcomes(passed=TESTS)
