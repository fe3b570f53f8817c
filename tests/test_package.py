"""The package's public surface: its names, its error tree, and a cheap import."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import pytest_tempstore
from pytest_tempstore import exceptions

CONTRACT_NAMES = {
    "QueryBuilder",
    "Node",
    "User",
    "Computer",
    "AuthInfo",
    "Group",
    "Comment",
    "Log",
    "SqliteTempBackend",
    "SandboxShaRepositoryBackend",
    "Profile",
    "EntityTypes",
    "current_store",
    "exceptions",
}


def test_the_contract_names_are_exported_and_resolve():
    assert set(pytest_tempstore.__all__) >= CONTRACT_NAMES
    for name in pytest_tempstore.__all__:
        assert getattr(pytest_tempstore, name) is not None, name
    assert set(dir(pytest_tempstore)) >= set(pytest_tempstore.__all__)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = pytest_tempstore.Nope  # type: ignore[attr-defined]


def test_entity_type_values_follow_aiida():
    assert {member.value for member in pytest_tempstore.EntityTypes} == {
        "authinfo", "comment", "computer", "group", "log", "node", "link", "user", "group_node",
    }  # fmt: skip


BUILTIN_OF = {
    "ClosedStorage": RuntimeError,
    "IntegrityError": ValueError,
    "NotExistent": KeyError,
    "MultipleObjectsError": LookupError,
    "UnreachableStorage": OSError,
    "CorruptStorage": RuntimeError,
    "IncompatibleStorageSchema": ValueError,
    "StorageMigrationError": RuntimeError,
    "ArchiveError": ValueError,
}


@pytest.mark.parametrize(("name", "builtin"), BUILTIN_OF.items())
def test_each_reference_error_is_in_the_tree_and_a_builtin(name, builtin):
    error = getattr(exceptions, name)
    assert issubclass(error, exceptions.TempStoreError)
    assert issubclass(error, builtin)


def test_every_exported_error_derives_from_the_base_and_is_documented():
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert inspect.isclass(error)
        assert issubclass(error, exceptions.TempStoreError)
        assert name in (exceptions.__doc__ or ""), f"{name} is missing from the tree in the module docstring"


def test_not_existent_reads_without_key_error_quotes():
    assert str(exceptions.NotExistent("no node with pk 5")) == "no node with pk 5"


def test_importing_the_plugin_loads_neither_sqlalchemy_nor_pydantic():
    code = (
        "import sys, pytest_tempstore.plugin, pytest_tempstore; "
        "print(sorted(m for m in ('sqlalchemy', 'pydantic', 'aiida') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("pytest_tempstore").joinpath("py.typed").is_file()
