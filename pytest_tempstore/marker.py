"""The ``@pytest.mark.tempstore(...)`` marker: its help line, its arguments and their checks.

A marker configures the ``tempstore`` fixture of the tests it applies to. It may
sit on a test, a class or a module (``pytestmark``); the closest one wins as a
whole, its arguments are not merged with those of markers further out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from .storage.backend import SqliteTempBackend

__all__ = ["MARKER_HELP", "MARKER_NAME", "MarkerError", "StoreSettings", "settings_from_marker"]

MARKER_NAME = "tempstore"

MARKER_HELP = (
    "tempstore(archive=None, seed=None, default_user_email=None, keep=None): "
    "configure the test's `tempstore`: seed it from an AiiDA archive (a path, relative to the test file's "
    "folder) and/or a callable taking the store, set the default user's email, and keep (True) or never "
    "keep (False) the store after the test, whatever --tempstore-keep says."
)

Seed = Callable[["SqliteTempBackend"], object]


# NamedTuples, not dataclasses, in the modules the plugin imports at start-up: a frozen
# dataclass costs ~1 ms to define, which every pytest run in the environment would pay.
class StoreSettings(NamedTuple):
    """What a test asks of its function-scoped store; the defaults mean a plain empty store."""

    archive: Path | None = None
    seed: Seed | None = None
    default_user_email: str | None = None
    keep: bool | None = None

    @property
    def seed_key(self) -> tuple[Path | None, object, str | None]:
        """The arguments that shape the store's starting state; tests with equal keys share it."""
        seed: object = self.seed
        try:
            hash(seed)
        except TypeError:  # a callable object that defines __eq__ only: tell seeds apart by identity
            seed = ("unhashable seed", id(seed))
        return (self.archive, seed, self.default_user_email)


class MarkerError(ValueError):
    """A tempstore marker with arguments that are unknown or of the wrong type."""


def _marker_signature(
    *,
    archive: str | os.PathLike[str] | None = None,
    seed: Seed | None = None,
    default_user_email: str | None = None,
    keep: bool | None = None,
) -> dict[str, Any]:
    """The marker's arguments, as the marker's help line shows them; keyword-only."""
    return {"archive": archive, "seed": seed, "default_user_email": default_user_email, "keep": keep}


_ARGUMENTS = ("archive", "seed", "default_user_email", "keep")


def _describe(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def settings_from_marker(mark: pytest.Mark, test_folder: Path) -> StoreSettings:
    """Check a tempstore marker's arguments and turn them into settings.

    ``test_folder`` is the folder of the test file, against which a relative
    ``archive`` path is resolved. Raises :class:`MarkerError` naming the argument.
    """
    if mark.args:
        raise MarkerError(
            f"takes keyword arguments only ({', '.join(f'{name}=...' for name in _ARGUMENTS)}), "
            f"got positional {', '.join(_describe(arg) for arg in mark.args)}"
        )
    unknown = sorted(set(mark.kwargs) - set(_ARGUMENTS))
    if unknown:
        raise MarkerError(
            f"unknown argument{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the arguments are {', '.join(_ARGUMENTS)}"
        )
    arguments = _marker_signature(**mark.kwargs)

    archive = arguments["archive"]
    archive_path = os.fspath(archive) if isinstance(archive, str | os.PathLike) else None
    if archive is not None and (not isinstance(archive_path, str) or not archive_path):
        raise MarkerError(f"archive must be a non-empty path (str or os.PathLike), got {_describe(archive)}")
    seed = arguments["seed"]
    if seed is not None and not callable(seed):
        raise MarkerError(f"seed must be a callable taking the store, got {_describe(seed)}")
    email = arguments["default_user_email"]
    if email is not None and (not isinstance(email, str) or not email):
        raise MarkerError(f"default_user_email must be a non-empty str, got {_describe(email)}")
    keep = arguments["keep"]
    if keep is not None and not isinstance(keep, bool):
        raise MarkerError(f"keep must be True, False or None, got {_describe(keep)}")

    return StoreSettings(
        archive=None if archive_path is None else test_folder / archive_path,
        seed=seed,
        default_user_email=email,
        keep=keep,
    )
