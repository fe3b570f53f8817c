"""The command line: ``python -m pytest_tempstore <command> ...``.

Commands:

``inspect PATH [--json]``
    What an AiiDA archive (zip file or folder, a kept store included) holds:
    format and aiida versions, creation time, entity counts, node types and
    repository objects.

``clean [--dry-run] [--root DIR]``
    Remove the ``tempstore-*`` folders that stores made outside pytest left
    behind when their process died (see :mod:`pytest_tempstore.sweep`), and
    list them. ``DIR`` defaults to the system's temporary folder.

Errors go to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Final, TextIO

from .archive import inspect_archive
from .sweep import sweep_stale_sandboxes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .archive import ArchiveSummary

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_ERROR: Final = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_tempstore",
        description="Tools for pytest-tempstore stores and AiiDA archives.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    inspect = commands.add_parser(
        "inspect",
        help="show what an AiiDA archive (zip file or folder) holds",
        description="Show what an AiiDA archive (zip file or unzipped folder, a kept store too) holds.",
    )
    inspect.add_argument("path", metavar="PATH", help="the archive file or folder")
    inspect.add_argument("--json", action="store_true", help="print machine-readable JSON")
    inspect.set_defaults(handler=_inspect)
    clean = commands.add_parser(
        "clean",
        help="remove the folders of stores whose process died",
        description=(
            "Remove the tempstore-* folders of stores whose owner process is gone (killed or crashed) "
            "and list them. Folders of running processes, and folders without an owner lock, stay."
        ),
    )
    clean.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    clean.add_argument(
        "--root",
        metavar="DIR",
        default=None,
        help="the folder to sweep (default: the system's temporary folder)",
    )
    clean.set_defaults(handler=_clean)
    return parser


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit} ({size} B)"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _print_summary(summary: ArchiveSummary, out: TextIO) -> None:
    lines = [
        f"archive         {summary.path} ({summary.kind})",
        f"export version  {summary.export_version}",
        f"aiida version   {summary.aiida_version or '-'}",
        f"created         {summary.ctime or '-'}",
        "entities",
    ]
    lines += [f"  {name:<14}{count:>10}" for name, count in summary.entities.as_dict().items()]
    lines.append("node types")
    width = max((len(node_type) for node_type in summary.node_types), default=0)
    lines += [
        f"  {node_type or '(empty)':<{width}}  {count:>8}" for node_type, count in summary.node_types.items()
    ]
    if not summary.node_types:
        lines.append("  (none)")
    lines.append(f"objects         {summary.objects}, {_human_size(summary.objects_bytes)}")
    out.write("\n".join(lines) + "\n")


def _inspect(arguments: argparse.Namespace, out: TextIO) -> int:
    summary = inspect_archive(arguments.path)
    if arguments.json:
        json.dump(summary.as_dict(), out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        _print_summary(summary, out)
    return EXIT_OK


def _clean(arguments: argparse.Namespace, out: TextIO) -> int:
    root = arguments.root
    if root is not None and not os.path.isdir(root):
        raise NotADirectoryError(f"{root} is not a folder")
    removed = sweep_stale_sandboxes(root, dry_run=arguments.dry_run)
    verb = "would remove" if arguments.dry_run else "removed"
    for folder in removed:
        out.write(f"{verb} {folder}\n")
    plural = "" if len(removed) == 1 else "s"
    out.write(f"{verb} {len(removed)} stale store folder{plural}\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return the exit code (2 and a message on stderr for any error)."""
    parser = _build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_request:
        # argparse exits for --help (0) and for usage errors (2); report, do not exit.
        return exit_request.code if isinstance(exit_request.code, int) else EXIT_ERROR
    handler: Callable[[argparse.Namespace, TextIO], int] = arguments.handler
    try:
        return handler(arguments, sys.stdout)
    except (OSError, ValueError) as error:
        # ArchiveError is a ValueError; a missing path is an OSError.
        print(f"{parser.prog} {arguments.command}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
