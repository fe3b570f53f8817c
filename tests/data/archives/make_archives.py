"""Regenerate the small aiida-core archives of this folder (run with aiida-core 2.9.4 installed).

    python tests/data/archives/make_archives.py

``provenance.aiida``: a calcfunction called by a workfunction called by a
workfunction (all six link types), a computer with an authinfo, a calcjob with
a folder of files (nested folders, an empty, a binary and a non-ASCII-named
file, a file shared with another node), a group, a comment, a log and extras.
``empty.aiida``: a profile holding nothing but its default user.

aiida-core writes to a private temporary ``AIIDA_PATH``, never to ``~/.aiida``.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = b"identical content in two nodes"


def main() -> int:
    with tempfile.TemporaryDirectory() as config:
        os.makedirs(os.path.join(config, ".aiida"))
        os.environ["AIIDA_PATH"] = config
        import aiida
        from aiida.storage.sqlite_temp import SqliteTempBackend
        from aiida.tools.archive import create_archive

        logging.getLogger("aiida").setLevel(logging.WARNING)

        def load(name: str) -> None:
            profile = SqliteTempBackend.create_profile(
                name, filepath=os.path.join(config, name), options={"warnings.development_version": False}
            )
            aiida.load_profile(profile, allow_switch=True)

        load("empty")
        create_archive(None, HERE / "empty.aiida", overwrite=True)
        load("provenance")
        build_graph()
        create_archive(None, HERE / "provenance.aiida", overwrite=True, include_authinfos=True)
    return 0


def build_graph() -> None:
    from aiida import orm
    from aiida.common import timezone
    from aiida.common.links import LinkType
    from aiida.engine import calcfunction, workfunction

    @calcfunction
    def add(x: orm.Int, y: orm.Int) -> orm.Int:
        return orm.Int(x.value + y.value)

    @workfunction
    def inner(x: orm.Int, y: orm.Int) -> orm.Int:
        return add(x, y)

    @workfunction
    def outer(x: orm.Int, y: orm.Int) -> orm.Int:
        return inner(x, y)

    total = outer(orm.Int(1), orm.Int(2))
    user = orm.User.collection.get_default()
    computer = orm.Computer(
        label="localhost", hostname="localhost", transport_type="core.local", scheduler_type="core.direct"
    ).store()
    authinfo = orm.AuthInfo(computer=computer, user=user)
    authinfo.set_auth_params({"safe_interval": 0.5})
    authinfo.store()
    folder = orm.FolderData(label="files")
    for path, content in {
        "sub/deeper/x.txt": b"nested",
        "empty.txt": b"",
        "bin.dat": bytes(range(256)),
        "données/résumé-ü.txt": "données ✓".encode(),
        "shared.txt": SHARED,
    }.items():
        folder.base.repository.put_object_from_filelike(io.BytesIO(content), path)
    folder.base.extras.set("tag", {"nested": [1, 2.5, None, "ü"]})
    folder.store()
    job = orm.CalcJobNode(computer=computer, label="job")
    job.set_process_type("aiida.calculations:core.arithmetic.add")
    job.base.links.add_incoming(folder, LinkType.INPUT_CALC, "folder")
    job.store()
    retrieved = orm.FolderData(label="retrieved")
    retrieved.base.repository.put_object_from_filelike(io.BytesIO(SHARED), "copy.txt")
    retrieved.base.links.add_incoming(job, LinkType.CREATE, "retrieved")
    retrieved.store()
    job.seal()
    group = orm.Group(label="my-group", description="a group ✓").store()
    group.add_nodes([folder, total])
    folder.base.comments.add("a comment ✓")
    orm.Log(timezone.now(), "aiida.test", "WARNING", job.pk, "careful", {"line": 3}).store()


if __name__ == "__main__":
    sys.exit(main())
