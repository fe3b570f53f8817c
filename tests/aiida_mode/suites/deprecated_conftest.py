"""A plugin's conftest on aiida-core's deprecated fixtures, with an SQLite profile and no broker."""

import pytest

pytest_plugins = ["aiida.manage.tests.pytest_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def aiida_profile(aiida_profile_factory, tmp_path_factory):
    storage = {"backend": "core.sqlite_dos", "config": {"filepath": str(tmp_path_factory.mktemp("storage"))}}
    return aiida_profile_factory({"storage": storage, "process_control": {"backend": None, "config": {}}})
