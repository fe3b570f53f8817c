"""The profile: what a store is called and how its storage is configured.

A profile lives in memory only; nothing is written to a configuration file. Its
shape follows AiiDA's profile dictionary, so ``profile.storage_config`` and
friends read the same.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

__all__ = ["Profile", "StorageSection"]

STORAGE_BACKEND = "core.sqlite_temp"


class StorageSection(BaseModel):
    """Which storage backend a profile uses and its configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: StrictStr = STORAGE_BACKEND
    config: dict[str, Any] = Field(default_factory=dict)


class Profile(BaseModel):
    """A named store configuration, validated on construction.

    Bad values raise ``pydantic.ValidationError`` (a ``ValueError``) naming the
    field, e.g. ``default_user_email`` given as a number.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: StrictStr = Field(min_length=1)
    default_user_email: StrictStr = Field(min_length=1, max_length=254)
    storage: StorageSection = Field(default_factory=StorageSection)
    options: dict[str, Any] = Field(default_factory=dict)
    test_profile: StrictBool = True

    @property
    def storage_backend(self) -> str:
        """The storage backend's entry-point name."""
        return self.storage.backend

    @property
    def storage_config(self) -> dict[str, Any]:
        """A copy of the storage configuration (``filepath``, ``debug``)."""
        return dict(self.storage.config)

    @property
    def is_test_profile(self) -> bool:
        """Always true for a throwaway store; kept for code written against AiiDA profiles."""
        return self.test_profile

    def get_option(self, name: str, default: Any = None) -> Any:
        """An option's value, or ``default`` when it is not set."""
        return self.options.get(name, default)
