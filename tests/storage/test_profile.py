"""Profiles: built in memory, validated, and nothing written to disk until a store is used."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pydantic
import pytest

from pytest_tempstore import Profile, SqliteTempBackend
from pytest_tempstore.sandbox import remove_owned_folder


def sandbox_folders() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("tempstore-")}


def test_defaults_follow_the_reference():
    profile = SqliteTempBackend.create_profile()
    assert isinstance(profile, Profile)
    assert profile.name == "temp"
    assert profile.default_user_email == "user@email.com"
    assert profile.storage_backend == "core.sqlite_temp"
    assert profile.storage_config == {"filepath": None, "debug": False}
    assert profile.is_test_profile


def test_create_profile_writes_nothing(tmp_path):
    before = sandbox_folders()
    SqliteTempBackend.create_profile(filepath=tmp_path / "never-made")
    SqliteTempBackend.create_profile()
    assert sandbox_folders() == before
    assert not (tmp_path / "never-made").exists()


def test_options_and_filepath_are_kept(tmp_path):
    profile = SqliteTempBackend.create_profile("mine", "me@example.org", {"a": 1}, True, tmp_path)
    assert (profile.name, profile.default_user_email) == ("mine", "me@example.org")
    assert profile.get_option("a") == 1
    assert profile.get_option("missing", "fallback") == "fallback"
    assert profile.storage_config == {"filepath": os.fspath(tmp_path), "debug": True}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"default_user_email": 42}, "default_user_email"),
        ({"name": ["x"]}, "name"),
        ({"debug": "yes"}, "debug"),
        ({"options": "not a dict"}, "options"),
    ],
)
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(pydantic.ValidationError, match=field):
        SqliteTempBackend.create_profile(**kwargs)


def test_profile_is_immutable():
    profile = SqliteTempBackend.create_profile()
    with pytest.raises(pydantic.ValidationError):
        profile.name = "other"  # type: ignore[misc]


def test_model_creates_its_default_folder():
    config = SqliteTempBackend.Model()
    folder = Path(config.filepath)
    try:
        assert folder.is_dir()
        assert folder.name.startswith("tempstore-")
        assert config.debug is False
    finally:
        remove_owned_folder(folder)


def test_the_default_folder_of_a_model_is_removed_when_the_process_exits(tmp_path):
    code = "from pytest_tempstore import SqliteTempBackend; print(SqliteTempBackend.Model().filepath)"
    made = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(made).parent == tmp_path
    assert list(tmp_path.iterdir()) == [], "neither the folder nor its owner lock remains"


def test_model_rejects_unknown_keys(tmp_path):
    with pytest.raises(pydantic.ValidationError, match="bogus"):
        SqliteTempBackend.Model(filepath=str(tmp_path), bogus=1)
