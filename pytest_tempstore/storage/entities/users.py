"""Users, computers, and the authorisation that ties a user to a computer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ...exceptions import InputValidationError, NotExistent
from ..entity_types import EntityTypes
from ..models import DbAuthInfo, DbComputer, DbUser
from ._json import clean_json
from .base import Entity, EntityCollection
from .columns import EditableJsonDict, EditableText, OptionalText, Text

if TYPE_CHECKING:
    from ..backend import SqliteTempBackend

__all__ = ["AuthInfo", "Computer", "User", "UserCollection"]


class User(Entity):
    """A person who owns nodes, groups and comments; identified by email."""

    entity_type: ClassVar[EntityTypes] = EntityTypes.USER
    model = DbUser

    def __init__(
        self,
        backend: SqliteTempBackend,
        email: str,
        first_name: str = "",
        last_name: str = "",
        institution: str = "",
    ) -> None:
        if not isinstance(email, str) or not email:
            raise InputValidationError(f"a user needs a non-empty email, not {email!r}")
        super().__init__(
            backend,
            {"email": email, "first_name": first_name, "last_name": last_name, "institution": institution},
        )

    def __repr__(self) -> str:
        return f"<User {self.email!r}>" if self.is_stored else f"<User {self._values['email']!r} unstored>"

    email = EditableText("The user's email (unique in a store).")
    first_name = EditableText("First name.")
    last_name = EditableText("Last name.")
    institution = EditableText("Institution.")


class UserCollection(EntityCollection[User]):
    """The users of a store."""

    def get_or_create(self, email: str, **fields: str) -> tuple[bool, User]:
        """``(created, user)``: the stored user with ``email``, storing a new one if there is none."""
        try:
            return False, self.get(email=email)
        except NotExistent:
            return True, self.create(email, **fields).store()


class Computer(Entity):
    """A machine that runs calculations; identified by its unique label."""

    entity_type: ClassVar[EntityTypes] = EntityTypes.COMPUTER
    model = DbComputer

    def __init__(
        self,
        backend: SqliteTempBackend,
        label: str,
        *,
        hostname: str = "",
        description: str = "",
        scheduler_type: str = "",
        transport_type: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(label, str) or not label:
            raise InputValidationError(f"a computer needs a non-empty label, not {label!r}")
        super().__init__(
            backend,
            {
                "label": label,
                "hostname": hostname,
                "description": description,
                "scheduler_type": scheduler_type,
                "transport_type": transport_type,
                "metadata": clean_json(metadata or {}, "computer metadata"),
            },
        )

    def __repr__(self) -> str:
        return (
            f"<Computer {self.label!r}>"
            if self.is_stored
            else f"<Computer {self._values['label']!r} unstored>"
        )

    uuid = OptionalText("The UUID (assigned when stored).")
    label = EditableText("The unique label.")
    hostname = EditableText("Host name.")
    description = EditableText("Description.")
    scheduler_type = Text("Entry point name of the scheduler plugin.")
    transport_type = Text("Entry point name of the transport plugin.")

    metadata = EditableJsonDict(
        "A copy of the metadata; assign a new dict to change it.", what="computer metadata"
    )

    def get_authinfo(self, user: User) -> AuthInfo:
        """The stored authorisation of ``user`` on this computer; ``NotExistent`` when there is none."""
        pk = self._require_stored("looking up its authinfos")
        return self._backend.authinfos.get(dbcomputer_id=pk, aiidauser_id=user._require_stored("lookups"))


class AuthInfo(Entity):
    """The authorisation of a user on a computer (one per pair)."""

    entity_type: ClassVar[EntityTypes] = EntityTypes.AUTHINFO
    model = DbAuthInfo

    def __init__(
        self,
        backend: SqliteTempBackend,
        computer: Computer,
        user: User | None = None,
        *,
        enabled: bool = True,
        auth_params: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        user = backend.default_user if user is None else user
        super().__init__(
            backend,
            {
                "dbcomputer_id": computer._require_stored("it gets an authinfo"),
                "aiidauser_id": user._require_stored("it gets an authinfo"),
                "enabled": bool(enabled),
                "auth_params": clean_json(auth_params or {}, "authinfo auth_params"),
                "metadata": clean_json(metadata or {}, "authinfo metadata"),
            },
        )

    @property
    def computer(self) -> Computer:
        """The computer."""
        return Computer.from_pk(self._backend, int(self._get("dbcomputer_id")))

    @property
    def user(self) -> User:
        """The user."""
        return User.from_pk(self._backend, int(self._get("aiidauser_id")))

    @property
    def enabled(self) -> bool:
        """Whether the authorisation may be used."""
        return bool(self._get("enabled"))

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._set(enabled=bool(value))

    auth_params = EditableJsonDict(
        "A copy of the authentication parameters; assign a new dict to change them.",
        what="authinfo auth_params",
    )
    metadata = EditableJsonDict(
        "A copy of the metadata; assign a new dict to change it.", what="authinfo metadata"
    )
