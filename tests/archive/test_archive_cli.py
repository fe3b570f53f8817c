"""``python -m pytest_tempstore inspect``: what an archive holds, for people and for scripts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_tempstore.archive import create_archive
from pytest_tempstore.cli import main

GRAPH_COUNTS = {
    "users": 2,
    "computers": 1,
    "authinfos": 0,
    "nodes": 10,
    "groups": 1,
    "comments": 1,
    "logs": 1,
    "links": 13,
    "group_nodes": 2,
}
GRAPH_NODE_TYPES = {
    "data.core.dict.Dict.": 1,
    "data.core.folder.FolderData.": 2,
    "data.core.int.Int.": 3,
    "process.calculation.calcfunction.CalcFunctionNode.": 1,
    "process.calculation.calcjob.CalcJobNode.": 1,
    "process.workflow.workfunction.WorkFunctionNode.": 2,
}


@pytest.fixture(params=["zip", "folder"])
def archive(request, graph_store, tmp_path):
    return create_archive(graph_store[0], tmp_path / "graph", archive_format=request.param)


def test_inspect_json_reports_versions_counts_types_and_objects(archive, sample_files, capsys):
    assert main(["inspect", str(archive), "--json"]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert summary["path"] == str(archive)
    assert summary["kind"] == ("folder" if archive.is_dir() else "zip")
    assert (summary["export_version"], summary["aiida_version"]) == ("main_0001", "2.9.4")
    assert summary["ctime"]
    assert summary["entities"] == GRAPH_COUNTS
    assert summary["node_types"] == GRAPH_NODE_TYPES
    distinct = {*sample_files.folder.values(), *sample_files.retrieved.values()}
    assert summary["objects"] == len(distinct) == 6
    assert summary["objects_bytes"] == sum(map(len, distinct))


def test_inspect_prints_a_readable_summary(archive, capsys):
    assert main(["inspect", str(archive)]) == 0

    out = capsys.readouterr().out
    assert "export version  main_0001" in out
    assert "aiida version   2.9.4" in out
    for name, count in GRAPH_COUNTS.items():
        assert any(line.split() == [name, str(count)] for line in out.splitlines()), name
    for node_type, count in GRAPH_NODE_TYPES.items():
        assert any(line.split() == [node_type, str(count)] for line in out.splitlines()), node_type
    assert "objects         6," in out


def test_inspect_of_an_empty_store(store, tmp_path, capsys):
    archive = create_archive(store, tmp_path / "empty.aiida")
    assert main(["inspect", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "(none)" in out
    assert "objects         0, 0 B" in out


def test_missing_path_is_an_error_on_stderr(tmp_path, capsys):
    missing = tmp_path / "missing.aiida"
    assert main(["inspect", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(missing) in captured.err
    assert "error" in captured.err


def test_broken_archive_is_an_error_on_stderr(tmp_path, capsys):
    broken = tmp_path / "broken.aiida"
    broken.write_text("not an archive")
    assert main(["inspect", str(broken), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "neither a zip file nor a folder" in captured.err


@pytest.mark.parametrize("argv", [[], ["unknown"], ["inspect"]])
def test_usage_errors_exit_with_2(argv, capsys):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_exits_with_0(capsys):
    assert main(["inspect", "--help"]) == 0
    assert "--json" in capsys.readouterr().out


def test_module_entry_point(archive):
    result = subprocess.run(
        [sys.executable, "-m", "pytest_tempstore", "inspect", str(archive), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["entities"]["nodes"] == 10
