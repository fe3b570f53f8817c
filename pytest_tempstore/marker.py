"""The ``@pytest.mark.tempstore(...)`` marker: its arguments and their checks.

A marker configures the ``tempstore`` fixture of the tests it applies to. It may
sit on a test, a class or a module (``pytestmark``); the closest one wins as a
whole, its arguments are not merged with those of markers further out. The
plugin registers its name and help line, and loads this module only for runs
whose tests carry the marker or use a store.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import pytest

    from .storage.backend import SqliteTempBackend

__all__ = ["MarkerError", "StoreSettings", "closest_settings", "settings_from_marker"]

if TYPE_CHECKING:
    Seed = Callable[[SqliteTempBackend], object]


class StoreSettings:
    """What a test asks of its function-scoped store; the defaults mean a plain empty store."""

    __slots__ = ("archive", "default_user_email", "keep", "seed")

    def __init__(
        self,
        archive: Path | None = None,
        seed: Seed | None = None,
        default_user_email: str | None = None,
        keep: bool | None = None,
    ) -> None:
        self.archive = archive
        self.seed = seed
        self.default_user_email = default_user_email
        self.keep = keep

    def __repr__(self) -> str:
        return (
            f"StoreSettings(archive={self.archive!r}, seed={self.seed!r}, "
            f"default_user_email={self.default_user_email!r}, keep={self.keep!r})"
        )

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


def closest_settings(item: pytest.Item, name: str, errors: dict[str, None]) -> StoreSettings:
    """The settings of the closest marker ``name`` on ``item``; every one is checked, errors collected.

    ``errors`` gains a line per faulty marker, naming the test, class or module that carries it.
    """
    closest: StoreSettings | None = None
    for node, mark in item.iter_markers_with_node(name):
        try:
            settings = settings_from_marker(mark, item.path.parent)
        except MarkerError as error:
            errors[f"  {node.nodeid}: {error}"] = None
            settings = StoreSettings()
        if closest is None:
            closest = settings
    assert closest is not None, "closest_settings() needs an item that carries the marker"
    return closest
