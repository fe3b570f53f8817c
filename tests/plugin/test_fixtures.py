"""The store fixtures: what each hands out, how long it lives, and ``current_store()``."""

from __future__ import annotations

from .conftest import store_folders


def test_function_store_is_empty_and_isolated(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest
        from pytest_tempstore import SqliteTempBackend

        def write(store):
            store.set_global_variable("written", 1)
            store.get_repository().put_object_from_filelike(__import__("io").BytesIO(b"data"))

        def check_empty(store):
            assert isinstance(store, SqliteTempBackend) and not store.is_closed
            info = store.get_info()
            assert info["entities"]["Users"]["count"] == 1
            assert info["entities"]["Nodes"]["count"] == 0
            assert store.get_repository().list_objects() == []
            with pytest.raises(KeyError):
                store.get_global_variable("written")

        @pytest.mark.parametrize("run", range(3))
        def test_writes(tempstore, run):
            check_empty(tempstore)
            write(tempstore)

        def test_sees_nothing(tempstore):
            check_empty(tempstore)
        """
    )
    runpytest().assert_outcomes(passed=4)


def test_function_store_is_reused_not_rebuilt(pytester, runpytest):
    pytester.makepyfile(
        """
        seen = []

        def test_one(tempstore):
            seen.append(tempstore)

        def test_two(tempstore):
            seen.append(tempstore)
            assert seen[0] is seen[1]
        """
    )
    runpytest().assert_outcomes(passed=2)


def test_closed_or_busy_store_is_replaced(pytester, runpytest):
    pytester.makepyfile(
        """
        def test_closes(tempstore):
            tempstore.set_global_variable("x", 1)
            tempstore.close()

        def test_gets_a_new_one(tempstore):
            assert not tempstore.is_closed
            assert tempstore.get_info()["entities"]["Nodes"]["count"] == 0

        def test_leaves_a_transaction_open(tempstore):
            context = tempstore.transaction()
            context.__enter__()
            test_leaves_a_transaction_open.context = context  # keeps it open

        def test_after_open_transaction(tempstore):
            assert not tempstore.in_transaction
            tempstore.set_global_variable("y", 2)
        """
    )
    runpytest().assert_outcomes(passed=4)


def test_current_store_is_innermost_and_lookup_error_outside(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest
        from pytest_tempstore import current_store

        @pytest.fixture
        def seen_in_setup():
            return current_store()

        def test_function_store(tempstore, seen_in_setup):
            assert current_store() is tempstore

        def test_module_store(tempstore_module):
            assert current_store() is tempstore_module

        def test_session_store(tempstore_session):
            assert current_store() is tempstore_session

        def test_function_over_module_over_session(tempstore_session, tempstore_module, tempstore):
            assert current_store() is tempstore

        def test_module_over_session(tempstore_module, tempstore_session):
            assert current_store() is tempstore_module

        def test_factory_stores_are_not_current(tempstore_factory):
            tempstore_factory()
            with pytest.raises(LookupError, match="no tempstore"):
                current_store()

        def test_no_store():
            with pytest.raises(LookupError):
                current_store()
        """
    )
    runpytest().assert_outcomes(passed=7)


def test_current_store_outside_tests_raises_lookup_error(pytester, runpytest):
    pytester.makepyfile(
        """
        from pytest_tempstore import current_store

        def test_uses(tempstore_module):
            pass

        def test_after_without_store():
            try:
                current_store()
            except LookupError:
                pass
            else:
                raise AssertionError("the module store leaked into a test that does not use it")
        """
    )
    runpytest().assert_outcomes(passed=2)


def test_module_store_is_shared_within_a_module_and_cleared_after(pytester, runpytest):
    pytester.makepyfile(
        test_first="""
        import pytest

        def test_write(tempstore_module):
            tempstore_module.set_global_variable("module", "first")

        def test_sees_earlier_test(tempstore_module):
            assert tempstore_module.get_global_variable("module") == "first"
        """,
        test_second="""
        import pytest

        def test_starts_empty(tempstore_module):
            with pytest.raises(KeyError):
                tempstore_module.get_global_variable("module")
            assert tempstore_module.get_info()["entities"]["Users"]["count"] == 1
        """,
    )
    runpytest().assert_outcomes(passed=3)


def test_session_store_is_shared_across_modules(pytester, runpytest):
    pytester.makepyfile(
        test_first="""
        def test_write(tempstore_session):
            tempstore_session.set_global_variable("session", 1)
        """,
        test_second="""
        from test_first import test_write

        def test_reads(tempstore_session):
            assert tempstore_session.get_global_variable("session") == 1
        """,
    )
    runpytest("test_first.py", "test_second.py::test_reads").assert_outcomes(passed=2)


def test_factory_makes_independent_stores_closed_at_session_end(pytester, runpytest, basetemp):
    pytester.makepyfile(
        """
        made = []

        def test_factory(tempstore_factory, tmp_path):
            first = tempstore_factory()
            second = tempstore_factory(default_user_email="other@example.org", name="second")
            assert first is not second
            assert second.default_user_email == "other@example.org"
            first.set_global_variable("only-first", 1)
            assert second.get_info()["entities"]["Users"]["count"] == 1
            own = tempstore_factory(filepath=tmp_path / "own")
            own.get_repository().put_object_from_filelike(__import__("io").BytesIO(b"x"))
            made.extend([first, second, own])

        def test_closed_later(tempstore_factory):
            assert not any(store.is_closed for store in made)
        """
    )
    result = runpytest()
    result.assert_outcomes(passed=2)
    # The session is over: every store is closed, so its folders are gone or, when the test gave one, empty.
    assert store_folders(basetemp) == []
    own = basetemp / "test_factory0" / "own"
    assert list(own.iterdir()) == []


def test_factory_rejects_bad_profile_arguments(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        def test_bad(tempstore_factory):
            with pytest.raises(ValueError, match="default_user_email"):
                tempstore_factory(default_user_email=5)
        """
    )
    runpytest().assert_outcomes(passed=1)


def test_fixtures_are_listed_with_their_summaries(pytester):
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["*fixtures defined from pytest_tempstore.fixtures*"])
    # pytest orders the listing by source location; each fixture's summary follows its name.
    for header, summary in [
        (
            "tempstore_factory [[]session scope[]] -- *fixtures.py:*",
            "    Make extra AiiDA provenance stores: "
            "``tempstore_factory(**create_profile_kwargs, archive=None)``.",
        ),
        (
            "tempstore -- *fixtures.py:*",
            "    An AiiDA provenance store of this test's own: "
            "empty but for the default user, or seeded by the marker.",
        ),
        (
            "tempstore_module [[]module scope[]] -- *fixtures.py:*",
            "    An AiiDA provenance store shared by the tests of one module, emptied when the module ends.",
        ),
        (
            "tempstore_session [[]session scope[]] -- *fixtures.py:*",
            "    An AiiDA provenance store shared by every test of the run (one per xdist worker).",
        ),
    ]:
        result.stdout.fnmatch_lines([header, summary], consecutive=True)
    # Without -v only the first paragraph is shown, and the private helpers not at all.
    assert "restored before every test" not in result.stdout.str()
    assert "_tempstore_registry" not in result.stdout.str()
