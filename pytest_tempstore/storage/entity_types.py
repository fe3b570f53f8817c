"""The kinds of rows the storage API accepts, named as AiiDA names them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EntityTypes"]


class EntityTypes(StrEnum):
    """What ``bulk_insert``/``bulk_update`` and the query layer operate on."""

    AUTHINFO = "authinfo"
    COMMENT = "comment"
    COMPUTER = "computer"
    GROUP = "group"
    LOG = "log"
    NODE = "node"
    LINK = "link"
    USER = "user"
    GROUP_NODE = "group_node"
