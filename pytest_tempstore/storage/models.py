"""The AiiDA provenance schema (``main_0001``) as SQLAlchemy 2 typed models.

Table, column, constraint and index names are part of the AiiDA archive format,
so they follow the reference exactly: the same DDL comes out of
``Base.metadata.create_all`` here as out of aiida-core's archive models. That is
what lets an archive's ``db.sqlite3`` be a straight copy of a store's database.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import JSON as SqliteJSON
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .driver import JSONB
from .entity_types import EntityTypes

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

__all__ = [
    "MODEL_BY_ENTITY_TYPE",
    "Base",
    "DbAuthInfo",
    "DbComment",
    "DbComputer",
    "DbGroup",
    "DbGroupNode",
    "DbLink",
    "DbLog",
    "DbNode",
    "DbSetting",
    "DbUser",
    "JsonColumn",
    "JsonbColumn",
    "NodeJsonColumn",
    "UTCDateTime",
    "is_json",
    "is_jsonb",
    "new_uuid",
    "utc_now",
]

# The reference's naming convention; constraint and index names appear in archives.
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "ix": "ix_%(table_name)s_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
}


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_uuid() -> str:
    """A new random UUID in the stored form: 36 characters with dashes."""
    return str(uuid_module.uuid4())


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores times as naive UTC, returns them timezone-aware in UTC.

    Naive input is taken to be UTC already, so a test's ``datetime(2024, 1, 1)``
    means the same instant on every machine.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JsonColumn(SqliteJSON):
    """A JSON column of the schema, stored as JSON text.

    SQLAlchemy's SQLite dialect reads it with a processor that also passes
    top-level numbers through: a column declared ``JSON`` has numeric affinity,
    so the text ``'5'`` written for the value 5 comes back as the integer 5.
    """

    cache_ok = True


class JsonbColumn(sa.TypeDecorator[Any]):
    """A JSON column stored as SQLite's binary JSONB: written through ``jsonb()``, read through ``json()``.

    Filters on JSON paths then read the stored value without parsing text. The
    DDL stays ``JSON``, as in the reference, and a written database holds JSON
    text again (``write_json_as_text``). A decorator rather than a subclass: the
    dialect swaps a plain JSON type for its own, dropping these expressions.
    """

    impl = JsonColumn
    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.func.jsonb(bindvalue, type_=self)

    def column_expression(self, colexpr: Any) -> Any:
        return sa.func.json(colexpr, type_=self)


# Node attributes and extras are what JSON filters scan: JSONB where the SQLite in use has it.
NodeJsonColumn: type[sa.types.TypeEngine[Any]] = JsonbColumn if JSONB else JsonColumn


def is_json(column: sa.ColumnElement[Any]) -> bool:
    """Whether ``column`` holds JSON, as text or as JSONB."""
    return isinstance(column.type, JsonColumn | JsonbColumn)


def is_jsonb(column: sa.ColumnElement[Any]) -> bool:
    """Whether ``column`` holds JSONB (raw SQL must then write ``jsonb(?)`` and read ``json(column)``)."""
    return isinstance(column.type, JsonbColumn)


class Base(DeclarativeBase):
    """Declarative base holding the metadata of the ten tables."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _fk(target: str, ondelete: str | None = None) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=ondelete, deferrable=True, initially="DEFERRED")


class DbUser(Base):
    __tablename__ = "db_dbuser"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(254), default="")
    last_name: Mapped[str] = mapped_column(sa.String(254), default="")
    institution: Mapped[str] = mapped_column(sa.String(254), default="")


class DbComputer(Base):
    __tablename__ = "db_dbcomputer"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_uuid)
    label: Mapped[str] = mapped_column(sa.String(255), unique=True)
    hostname: Mapped[str] = mapped_column(sa.String(255), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    scheduler_type: Mapped[str] = mapped_column(sa.String(255), default="")
    transport_type: Mapped[str] = mapped_column(sa.String(255), default="")
    # The Python attribute cannot be called `metadata` on a declarative class.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonColumn, default=dict)


class DbAuthInfo(Base):
    __tablename__ = "db_dbauthinfo"
    __table_args__ = (sa.UniqueConstraint("aiidauser_id", "dbcomputer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    aiidauser_id: Mapped[int] = mapped_column(_fk("db_dbuser.id", "CASCADE"), index=True)
    dbcomputer_id: Mapped[int] = mapped_column(_fk("db_dbcomputer.id", "CASCADE"), index=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonColumn, default=dict)
    auth_params: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)


class DbNode(Base):
    __tablename__ = "db_dbnode"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_uuid)
    node_type: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    process_type: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    label: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    ctime: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    mtime: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now, index=True)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(NodeJsonColumn, default=dict)
    extras: Mapped[dict[str, Any] | None] = mapped_column(NodeJsonColumn, default=dict)
    repository_metadata: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    dbcomputer_id: Mapped[int | None] = mapped_column(_fk("db_dbcomputer.id", "RESTRICT"), index=True)
    user_id: Mapped[int] = mapped_column(_fk("db_dbuser.id", "RESTRICT"), index=True)


class DbLink(Base):
    __tablename__ = "db_dblink"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = mapped_column(_fk("db_dbnode.id"), index=True)
    output_id: Mapped[int] = mapped_column(_fk("db_dbnode.id", "CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(255), index=True)
    type: Mapped[str] = mapped_column(sa.String(255), index=True)


class DbGroup(Base):
    __tablename__ = "db_dbgroup"
    __table_args__ = (sa.UniqueConstraint("label", "type_string"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_uuid)
    label: Mapped[str] = mapped_column(sa.String(255), index=True)
    type_string: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    extras: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    user_id: Mapped[int] = mapped_column(_fk("db_dbuser.id", "CASCADE"), index=True)


class DbGroupNode(Base):
    __tablename__ = "db_dbgroup_dbnodes"
    __table_args__ = (sa.UniqueConstraint("dbgroup_id", "dbnode_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dbnode_id: Mapped[int] = mapped_column(_fk("db_dbnode.id"), index=True)
    dbgroup_id: Mapped[int] = mapped_column(_fk("db_dbgroup.id"), index=True)


class DbComment(Base):
    __tablename__ = "db_dbcomment"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_uuid)
    dbnode_id: Mapped[int] = mapped_column(_fk("db_dbnode.id", "CASCADE"), index=True)
    ctime: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    mtime: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    user_id: Mapped[int] = mapped_column(_fk("db_dbuser.id", "CASCADE"), index=True)
    content: Mapped[str] = mapped_column(sa.Text, default="")


class DbLog(Base):
    __tablename__ = "db_dblog"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_uuid)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    loggername: Mapped[str] = mapped_column(sa.String(255), index=True)
    levelname: Mapped[str] = mapped_column(sa.String(50), index=True)
    dbnode_id: Mapped[int] = mapped_column(_fk("db_dbnode.id", "CASCADE"), index=True)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonColumn, default=dict)


class DbSetting(Base):
    __tablename__ = "db_dbsetting"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(1024), unique=True)
    val: Mapped[Any] = mapped_column(JsonColumn, nullable=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


MODEL_BY_ENTITY_TYPE: dict[EntityTypes, type[Base]] = {
    EntityTypes.USER: DbUser,
    EntityTypes.COMPUTER: DbComputer,
    EntityTypes.AUTHINFO: DbAuthInfo,
    EntityTypes.NODE: DbNode,
    EntityTypes.LINK: DbLink,
    EntityTypes.GROUP: DbGroup,
    EntityTypes.GROUP_NODE: DbGroupNode,
    EntityTypes.COMMENT: DbComment,
    EntityTypes.LOG: DbLog,
}
