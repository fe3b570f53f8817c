"""Which rows an archive of part of a store holds, and pruning a database copy down to them.

An export of chosen nodes follows AiiDA's default export traversal rules
(:data:`~.format.EXPORT_TRAVERSAL_RULES`): from the chosen nodes it adds, until
nothing more is found, the inputs and the creator of every calculation's
outputs, what workflows return and call, the callers of every process, and the
inputs of every workflow. The archive then holds those nodes and every link
among them, their comments and logs, their computers (with their authinfos when
asked for) and users, and the groups that contain any of them with only those
of their members that are exported.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from ..exceptions import InputValidationError
from .format import EXPORT_TRAVERSAL_RULES

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection

__all__ = ["checked_node_pks", "prune_to_nodes", "select_nodes", "strip_for_export"]

#: The link types followed from input to output, and from output to input.
_FORWARD: Final = tuple(
    sorted(
        name.rsplit("_", 1)[0]
        for name, on in EXPORT_TRAVERSAL_RULES.items()
        if on and name.endswith("_forward")
    )
)
_BACKWARD: Final = tuple(
    sorted(
        name.rsplit("_", 1)[0]
        for name, on in EXPORT_TRAVERSAL_RULES.items()
        if on and name.endswith("_backward")
    )
)


def checked_node_pks(entities: Iterable[object]) -> list[int]:
    """The node pks of ``entities``; ``InputValidationError`` for anything but integers."""
    if isinstance(entities, str | bytes) or not hasattr(entities, "__iter__"):
        raise InputValidationError(f"entities must be a list of node pks, not {type(entities).__name__}")
    pks = list(entities)
    wrong = [pk for pk in pks if not isinstance(pk, int) or isinstance(pk, bool)]
    if wrong:
        raise InputValidationError(f"entities must be node pks (integers); got {wrong[:5]!r}")
    return sorted({pk for pk in pks if isinstance(pk, int)})


def select_nodes(store: Connection, start: list[int]) -> set[int]:
    """The starting nodes plus every node the export traversal rules reach from them."""
    known = {
        pk
        for (pk,) in store.exec_driver_sql(
            "SELECT id FROM db_dbnode WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(start),)
        )
    }
    absent = sorted(set(start) - known)
    if absent:
        raise InputValidationError(f"no nodes with the pks {absent[:10]} in the store")
    forward = ", ".join(f"'{kind}'" for kind in _FORWARD)
    backward = ", ".join(f"'{kind}'" for kind in _BACKWARD)
    query = (
        f"SELECT output_id FROM db_dblink WHERE type IN ({forward}) "
        "AND input_id IN (SELECT value FROM json_each(?1)) "
        f"UNION SELECT input_id FROM db_dblink WHERE type IN ({backward}) "
        "AND output_id IN (SELECT value FROM json_each(?1))"
    )
    selected = set(known)
    frontier = known
    while frontier:
        reached = {pk for (pk,) in store.exec_driver_sql(query, (json.dumps(sorted(frontier)),))}
        frontier = reached - selected
        selected |= frontier
    return selected


def prune_to_nodes(database: sqlite3.Connection, nodes: set[int]) -> None:
    """Delete from a database copy every row that an export of ``nodes`` does not hold."""
    database.execute("CREATE TEMP TABLE keep_node (id INTEGER PRIMARY KEY)")
    database.executemany("INSERT INTO keep_node (id) VALUES (?)", ((pk,) for pk in sorted(nodes)))
    kept = "(SELECT id FROM keep_node)"
    for statement in (
        f"DELETE FROM db_dblink WHERE input_id NOT IN {kept} OR output_id NOT IN {kept}",
        f"DELETE FROM db_dbgroup_dbnodes WHERE dbnode_id NOT IN {kept}",
        f"DELETE FROM db_dbcomment WHERE dbnode_id NOT IN {kept}",
        f"DELETE FROM db_dblog WHERE dbnode_id NOT IN {kept}",
        f"DELETE FROM db_dbnode WHERE id NOT IN {kept}",
        "DELETE FROM db_dbgroup WHERE id NOT IN (SELECT dbgroup_id FROM db_dbgroup_dbnodes)",
        "DELETE FROM db_dbcomputer WHERE id NOT IN "
        "(SELECT dbcomputer_id FROM db_dbnode WHERE dbcomputer_id IS NOT NULL)",
        "DELETE FROM db_dbauthinfo WHERE dbcomputer_id NOT IN (SELECT id FROM db_dbcomputer)",
        "DELETE FROM db_dbuser WHERE id NOT IN (SELECT user_id FROM db_dbnode "
        "UNION SELECT user_id FROM db_dbgroup UNION SELECT user_id FROM db_dbcomment "
        "UNION SELECT aiidauser_id FROM db_dbauthinfo)",
    ):
        database.execute(statement)
    database.execute("DROP TABLE keep_node")


def strip_for_export(
    database: sqlite3.Connection, *, include_comments: bool, include_logs: bool, include_authinfos: bool
) -> None:
    """Remove from a database copy what an archive leaves out.

    Global settings belong to the store, not to the data; process checkpoints
    are serialised code, which aiida-core leaves out of archives as well.
    """
    database.execute("DELETE FROM db_dbsetting")
    if not include_comments:
        database.execute("DELETE FROM db_dbcomment")
    if not include_logs:
        database.execute("DELETE FROM db_dblog")
    if not include_authinfos:
        database.execute("DELETE FROM db_dbauthinfo")
    database.execute(
        "UPDATE db_dbnode SET attributes = json_remove(attributes, '$.checkpoints') "
        "WHERE node_type LIKE 'process.%' AND json_type(attributes, '$.checkpoints') IS NOT NULL"
    )
