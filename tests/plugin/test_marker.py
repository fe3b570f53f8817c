"""The ``tempstore`` marker: registration, seeding, closest-marker rule, checks and errors."""

from __future__ import annotations

import pytest

from .conftest import write_archive

COUNT_NODES = """
import sqlalchemy

def labels(store):
    with store.transaction() as session:
        return sorted(row[0] for row in session.execute(sqlalchemy.text("SELECT label FROM db_dbnode")))
"""


def test_marker_is_registered_with_its_signature(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.tempstore(archive=None, seed=None, default_user_email=None, keep=None): configure*"]
    )


def test_marker_passes_strict_markers(pytester, runpytest_subprocess):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tempstore
        def test_marked(tempstore):
            pass
        """
    )
    # In a process of its own: pytest caches known marker names process-wide.
    runpytest_subprocess("--strict-markers").assert_outcomes(passed=1)


def test_seed_is_built_once_and_restored_for_every_test(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        calls = []

        def seed(store):
            calls.append(store)
            store.set_global_variable("seeded", "yes")
            store.get_repository().put_object_from_filelike(__import__("io").BytesIO(b"seed object"))

        def other_seed(store):
            calls.append(store)
            store.set_global_variable("seeded", "other")

        @pytest.mark.tempstore(seed=seed)
        @pytest.mark.parametrize("run", range(3))
        def test_changes_the_seeded_state(tempstore, run):
            assert tempstore.get_global_variable("seeded") == "yes"
            assert len(tempstore.get_repository().list_objects()) == 1
            with pytest.raises(KeyError):
                tempstore.get_global_variable("changed")
            tempstore.set_global_variable("changed", run)
            tempstore.set_global_variable("seeded", "overwritten")
            tempstore.get_repository().delete_objects(tempstore.get_repository().list_objects())

        @pytest.mark.tempstore(seed=other_seed)
        def test_other_seed(tempstore):
            assert tempstore.get_global_variable("seeded") == "other"

        def test_unseeded(tempstore):
            with pytest.raises(KeyError):
                tempstore.get_global_variable("seeded")

        @pytest.mark.tempstore(seed=seed)
        class TestSameSeedOnAClass:
            def test_shares_the_state(self, tempstore):
                assert tempstore.get_global_variable("seeded") == "yes"

        def test_each_seed_ran_once():
            assert len(calls) == 2
            # The seed filled a template store that no test ever gets.
            assert all(store.get_global_variable("seeded") in ("yes", "other") for store in calls)
        """
    )
    runpytest().assert_outcomes(passed=7)


def test_archive_relative_to_the_test_file_then_seed(pytester, runpytest, tempstore_factory):
    tests = pytester.mkdir("tests")
    write_archive(tempstore_factory, tests / "data" / "graph.zip", labels=("x", "y"))
    write_archive(tempstore_factory, tests / "data" / "graph-folder", labels=("z",), archive_format="folder")
    absolute = write_archive(tempstore_factory, pytester.path / "elsewhere.zip", labels=("far",))
    (tests / "test_archives.py").write_text(
        COUNT_NODES
        + f"""
import pytest

def add_label(store):
    assert labels(store) == ["x", "y"]  # the archive is imported before the seed runs
    store.bulk_insert("node", [{{"label": "seeded", "user_id": store.default_user_id}}], allow_defaults=True)

@pytest.mark.tempstore(archive="data/graph.zip")
def test_zip(tempstore):
    assert labels(tempstore) == ["x", "y"]
    assert len(tempstore.get_repository().list_objects()) == 1
    # Seeding keeps the archive as it is: no import group is added.
    assert tempstore.get_info()["entities"]["Groups"]["count"] == 0

@pytest.mark.tempstore(archive="data/graph-folder")
def test_folder(tempstore):
    assert labels(tempstore) == ["z"]

@pytest.mark.tempstore(archive={str(absolute)!r})
def test_absolute(tempstore):
    assert labels(tempstore) == ["far"]

@pytest.mark.tempstore(archive="data/graph.zip", seed=add_label)
def test_archive_then_seed(tempstore):
    assert labels(tempstore) == ["seeded", "x", "y"]
"""
    )
    # Run from another folder: the relative paths still resolve against the test file.
    result = runpytest(str(tests / "test_archives.py"), "--rootdir", str(pytester.path))
    result.assert_outcomes(passed=4)


def test_closest_marker_wins(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        def seeder(value):
            def seed(store):
                store.set_global_variable("level", value)
            return seed

        pytestmark = pytest.mark.tempstore(seed=seeder("module"))

        def test_module_marker(tempstore):
            assert tempstore.get_global_variable("level") == "module"

        @pytest.mark.tempstore(seed=seeder("class"))
        class TestClass:
            def test_class_marker(self, tempstore):
                assert tempstore.get_global_variable("level") == "class"

            @pytest.mark.tempstore(default_user_email="me@example.org")
            def test_own_marker_replaces_the_others(self, tempstore):
                assert tempstore.default_user_email == "me@example.org"
                with pytest.raises(KeyError):
                    tempstore.get_global_variable("level")

            class TestNested:
                def test_outer_class_marker(self, tempstore):
                    assert tempstore.get_global_variable("level") == "class"

        class TestUnmarkedClass:
            def test_module_marker_reaches_into_classes(self, tempstore):
                assert tempstore.get_global_variable("level") == "module"
        """
    )
    runpytest().assert_outcomes(passed=5)


def test_default_user_email(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tempstore(default_user_email="someone@example.org")
        def test_email(tempstore):
            assert tempstore.get_info(detailed=True)["entities"]["Users"]["emails"] == ["someone@example.org"]
        """
    )
    runpytest().assert_outcomes(passed=1)


def test_marked_test_without_the_fixture_gets_a_current_store(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest
        from pytest_tempstore import current_store

        def record(value):
            current_store().set_global_variable("recorded", value)

        @pytest.fixture
        def from_fixture():
            return current_store()

        @pytest.mark.tempstore
        def test_records(from_fixture):
            record(1)
            assert current_store() is from_fixture
            assert current_store().get_global_variable("recorded") == 1

        @pytest.mark.tempstore(seed=lambda store: store.set_global_variable("recorded", 0))
        @pytest.mark.parametrize("value", [1, 2])
        def test_seeded(value):
            assert current_store().get_global_variable("recorded") == 0
            record(value)

        @pytest.mark.tempstore
        class TestMarkedClass:
            def test_in_class(self):
                assert not current_store().is_closed

        @pytest.mark.parametrize("marked", [pytest.param(True, marks=pytest.mark.tempstore), False])
        def test_only_marked_instance(marked):
            if marked:
                current_store()
            else:
                with pytest.raises(LookupError):
                    current_store()
        """
    )
    runpytest().assert_outcomes(passed=6)


def test_tests_using_a_store_carry_the_marker(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def graph(tempstore):
            return tempstore

        def test_function(tempstore): pass
        def test_module(tempstore_module): pass
        def test_session(tempstore_session): pass
        def test_factory(tempstore_factory): pass
        def test_indirect(graph): pass

        @pytest.mark.tempstore
        def test_marked(): pass

        def test_plain(): pass
        """
    )
    selected = runpytest("-m", "tempstore", "-v")
    selected.assert_outcomes(passed=6, deselected=1)
    selected.stdout.no_fnmatch_line("*test_plain*PASSED*")
    others = runpytest("-m", "not tempstore", "-v")
    others.assert_outcomes(passed=1, deselected=6)
    others.stdout.fnmatch_lines(["*test_plain PASSED*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("tempstore('graph.zip')", "takes keyword arguments only*got positional 'graph.zip' (str)"),
        (
            "tempstore(sed=print)",
            "unknown argument 'sed'; the arguments are archive, seed, default_user_email, keep",
        ),
        ("tempstore(seed='fill')", "seed must be a callable taking the store, got 'fill' (str)"),
        ("tempstore(keep='yes')", "keep must be True, False or None, got 'yes' (str)"),
        ("tempstore(archive=3)", "archive must be a non-empty path*got 3 (int)"),
        ("tempstore(archive='')", "archive must be a non-empty path*got '' (str)"),
        ("tempstore(default_user_email=7)", "default_user_email must be a non-empty str, got 7 (int)"),
    ],
)
def test_bad_marker_arguments_fail_collection(pytester, runpytest, marker, message):
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.{marker}
        def test_bad(tempstore):
            pass

        def test_good():
            pass
        """
    )
    result = runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_bad_marker_arguments_fail_collection.py*",
            "invalid @pytest.mark.tempstore:",
            f"  test_bad_marker_arguments_fail_collection.py::test_bad: {message}",
        ]
    )


def test_bad_markers_on_classes_and_modules_name_their_node(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.tempstore(keep=1)

        @pytest.mark.tempstore(seed=2)
        class TestClass:
            def test_a(self):
                pass
        """
    )
    result = runpytest("--collect-only")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_bad_markers_on_classes_and_modules_name_their_node.py*",
            "invalid @pytest.mark.tempstore:",
            "  test_bad_markers_on_classes_and_modules_name_their_node.py::TestClass: seed must be a*",
            "  test_bad_markers_on_classes_and_modules_name_their_node.py: keep must be True, False or None*",
        ]
    )


def test_bad_marker_fails_collection_under_xdist(pytester, runpytest_subprocess):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tempstore(seed="fill")
        def test_bad():
            pass
        """
    )
    result = runpytest_subprocess("-n", "2")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_bad_marker_fails_collection_under_xdist.py::test_bad: seed must be a callable*"]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_missing_or_broken_archive_errors_at_that_tests_setup(pytester, runpytest):
    (pytester.path / "not-an-archive.zip").write_text("hello")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tempstore(archive="missing.zip")
        def test_missing(tempstore):
            pass

        @pytest.mark.tempstore(archive="not-an-archive.zip")
        def test_broken(tempstore):
            pass

        def test_others_run(tempstore):
            pass
        """
    )
    result = runpytest()
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_missing*",
            f"E*FileNotFoundError: tempstore archive not found: {pytester.path / 'missing.zip'}",
            "*ERROR at setup of test_broken*",
            f"E*ArchiveError: tempstore archive {pytester.path / 'not-an-archive.zip'} cannot be imported: *",
        ]
    )


def test_failing_seed_errors_that_test_with_its_traceback(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        def broken_seed(store):
            raise RuntimeError("the seed broke")

        @pytest.mark.tempstore(seed=broken_seed)
        @pytest.mark.parametrize("run", [1, 2])
        def test_seeded(tempstore, run):
            pass

        def test_unaffected(tempstore):
            assert tempstore.get_info()["entities"]["Nodes"]["count"] == 0
        """
    )
    result = runpytest()
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_seeded[[]1[]]*",
            "    def broken_seed(store):",
            '>       raise RuntimeError("the seed broke")',
            "E       RuntimeError: the seed broke",
            "E       raised by the tempstore seed 'broken_seed'",
        ]
    )


def test_seed_may_be_an_unhashable_callable(pytester, runpytest):
    pytester.makepyfile(
        """
        import pytest

        class Seed:
            calls = 0

            def __eq__(self, other):
                return isinstance(other, Seed)

            def __call__(self, store):
                Seed.calls += 1
                store.set_global_variable("seeded", True)

        seed = Seed()

        @pytest.mark.tempstore(seed=seed)
        @pytest.mark.parametrize("run", [1, 2])
        def test_seeded(tempstore, run):
            assert tempstore.get_global_variable("seeded") is True
            assert Seed.calls == 1
        """
    )
    runpytest().assert_outcomes(passed=2)
