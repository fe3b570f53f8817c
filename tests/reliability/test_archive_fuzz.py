"""A fuzzer for ``import_archive``: valid archives mutated at random, byte by byte and entry by entry.

Whatever the mutation, only ``ArchiveError`` comes out, a refused archive leaves
the store exactly as it was, and no file appears outside temporary folders: not
beside the archive, and no ``tempstore-*`` folder left in the temporary folder.
Some mutations are harmless (a renamed object no node refers to, say); such an
archive may import, and then the same no-litter rules hold.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile
from typing import TYPE_CHECKING, Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, given, settings

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.archive import create_archive, import_archive
from pytest_tempstore.exceptions import ArchiveError

from .conftest import fingerprint

if TYPE_CHECKING:
    from pathlib import Path

Entries = list[tuple[str, bytes]]

HOSTILE_NAMES = [
    "../escape",
    "repo/../../escape",
    "/abs/escape",
    "C:/escape",
    "repo\\..\\escape",
    "./metadata.json",
    "repo//" + "a" * 64,
    "repo/" + "A" * 64,
    "repo/" + "0" * 63,
    "repo/",
    "repo/sub/" + "b" * 64,
    "metadata.json/",
    "db.sqlite3\x00.txt",
    "data.json",
    "",
]


@pytest.fixture(scope="module")
def valid_entries(tmp_path_factory: pytest.TempPathFactory) -> Entries:
    """The entries of a valid archive: nodes with files, links, a group, a comment, a log, globals."""
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    try:
        repository = store.get_repository()
        keys = [
            repository.put_object_from_filelike(io.BytesIO(content)) for content in (b"a", b"b" * 5000, b"")
        ]
        user = store.default_user_id
        rows = [
            {
                "node_type": "data.core.int.Int.",
                "label": f"n{number}",
                "user_id": user,
                "attributes": {"value": number},
                "repository_metadata": {"o": {"f.txt": {"k": key}}},
            }
            for number, key in enumerate(keys)
        ]
        pks = store.bulk_insert("node", rows, allow_defaults=True)
        store.bulk_insert("link", [{"input_id": pks[0], "output_id": pks[1], "type": "create", "label": "x"}])
        group = store.bulk_insert("group", [{"label": "g", "user_id": user}], allow_defaults=True)[0]
        store.bulk_insert("group_node", [{"dbgroup_id": group, "dbnode_id": pk} for pk in pks])
        store.bulk_insert("comment", [{"dbnode_id": pks[0], "user_id": user, "content": "c"}], True)
        store.bulk_insert("log", [{"dbnode_id": pks[2], "loggername": "l", "levelname": "INFO"}], True)
        path = create_archive(store, tmp_path_factory.mktemp("fuzz") / "valid.aiida")
    finally:
        store.close()
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def build_zip(entries: Entries) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate names we write on purpose
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in entries:
                archive.writestr(zipfile.ZipInfo(name), content)
    return buffer.getvalue()


# -- mutations ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=6,
)
entry_names = st.sampled_from(HOSTILE_NAMES) | st.text(max_size=40)


@st.composite
def mutated_entries(draw: st.DrawFn, entries: Entries) -> Entries:
    """``entries`` with one to three entry-level mutations."""
    entries = list(entries)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(entries) - 1))
        name, content = entries[index]
        kind = draw(
            st.sampled_from(
                ["rename", "duplicate", "drop", "truncate", "flip", "metadata", "metadata-key", "extra"]
            )
        )
        if kind == "rename":
            entries[index] = (draw(entry_names), content)
        elif kind == "duplicate":
            entries.insert(
                draw(st.integers(0, len(entries))), (name, draw(st.sampled_from([content, b"other"])))
            )
        elif kind == "drop" and len(entries) > 1:
            del entries[index]
        elif kind == "truncate":
            entries[index] = (name, content[: draw(st.integers(0, max(len(content) - 1, 0)))])
        elif kind == "flip" and content:
            position = draw(st.integers(0, len(content) - 1))
            flipped = bytes([content[position] ^ draw(st.integers(1, 255))])
            entries[index] = (name, content[:position] + flipped + content[position + 1 :])
        elif kind in ("metadata", "metadata-key"):
            position = next(
                i
                for i, (entry, _) in enumerate([*entries, ("metadata.json", b"")])
                if entry == "metadata.json"
            )
            if position < len(entries):
                metadata: Any = json.loads(entries[position][1]) if kind == "metadata-key" else None
                if isinstance(metadata, dict) and metadata:
                    key = draw(st.sampled_from(sorted(metadata)))
                    metadata[key] = draw(json_values)
                else:
                    metadata = draw(json_values)
                entries[position] = ("metadata.json", json.dumps(metadata).encode())
        elif kind == "extra":
            entries.append((draw(entry_names), draw(st.binary(max_size=64))))
    return entries


@st.composite
def mutated_archives(draw: st.DrawFn, entries: Entries) -> bytes:
    """A zip of mutated entries, or a valid zip whose bytes are flipped or cut."""
    how = draw(st.sampled_from(["entries", "bytes", "truncate"]))
    if how == "entries":
        return build_zip(draw(mutated_entries(entries)))
    data = bytearray(build_zip(entries))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    for position in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
        data[position] ^= draw(st.integers(1, 255))
    return bytes(data)


# -- the fuzzer ---------------------------------------------------------------------------------


def litter(folder: Path) -> tuple[set[str], set[str]]:
    """What is beside the archive, and the ``tempstore-*`` entries of the temporary folder."""
    temporary = {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("tempstore-")}
    return set(os.listdir(folder)), temporary


@pytest.fixture
def fuzz_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder for the archives, and a private temporary folder; both shared by the examples."""
    private = tmp_path / "system-tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    folder = tmp_path / "archives"
    folder.mkdir()
    return folder


@settings(
    max_examples=150,
    deadline=None,
    # Saved examples replay badly: each run's valid archive has new UUIDs and times, so the same
    # choices draw differently (hypothesis then reports the strategy as flaky).
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_mutated_archives_raise_only_archive_error_and_change_nothing(valid_entries, fuzz_folder, data):
    archive = fuzz_folder / "mutated.aiida"
    archive.write_bytes(data.draw(mutated_archives(valid_entries), label="archive"))
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    try:
        store.set_global_variable("present", True)
        store.get_repository().put_object_from_filelike(io.BytesIO(b"already here"))
        store.bulk_insert("node", [{"label": "mine", "user_id": store.default_user_id}], allow_defaults=True)
        before, around = fingerprint(store), litter(fuzz_folder)
        try:
            import_archive(archive, store)
        except ArchiveError:
            event("refused")
            assert fingerprint(store) == before, "a refused archive changed the store"
        else:
            event("imported")
        assert not store.in_transaction
        assert litter(fuzz_folder) == around
        store.set_global_variable("usable", True)
    finally:
        store.close()
        archive.unlink()


def test_the_unmutated_archive_imports(valid_entries, fuzz_folder):
    """The fuzzer starts from an archive that is valid: its failures come from the mutations."""
    archive = fuzz_folder / "valid.aiida"
    archive.write_bytes(build_zip(valid_entries))
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    try:
        report = import_archive(archive, store)
        assert report.new.nodes == 3
        assert len(store.get_repository().list_objects()) == 3
    finally:
        store.close()


def test_a_missing_archive_is_file_not_found(store, tmp_path):
    with pytest.raises(FileNotFoundError):
        import_archive(tmp_path / "missing.aiida", store)
