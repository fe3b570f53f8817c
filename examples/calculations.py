"""A tiny piece of "library code" that the examples test: it records an addition as provenance.

``record_addition(2, 3)`` stores what AiiDA would store for a calcfunction that adds
two integers: two ``Int`` input nodes, the calculation node, the ``Int`` result,
and the links between them (``input_calc`` in, ``create`` out).
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tempstore import SqliteTempBackend, current_store

INT = "data.core.int.Int."
CALCFUNCTION = "process.calculation.calcfunction.CalcFunctionNode."


@dataclass(frozen=True)
class Addition:
    """The ids of the nodes one addition created."""

    x: int
    y: int
    calculation: int
    result: int


def record_addition(x: int, y: int, store: SqliteTempBackend | None = None) -> Addition:
    """Record ``x + y`` with its provenance in ``store`` (by default the running test's store)."""
    store = store or current_store()
    user = store.default_user_id
    x_id, y_id, calculation_id, result_id = store.bulk_insert(
        "node",
        [
            {"node_type": INT, "label": "x", "attributes": {"value": x}, "user_id": user},
            {"node_type": INT, "label": "y", "attributes": {"value": y}, "user_id": user},
            {
                "node_type": CALCFUNCTION,
                "process_type": "calculations.add",
                "label": "add",
                "attributes": {"process_state": "finished", "exit_status": 0},
                "user_id": user,
            },
            {"node_type": INT, "label": "sum", "attributes": {"value": x + y}, "user_id": user},
        ],
        allow_defaults=True,
    )
    store.bulk_insert(
        "link",
        [
            {"input_id": x_id, "output_id": calculation_id, "label": "x", "type": "input_calc"},
            {"input_id": y_id, "output_id": calculation_id, "label": "y", "type": "input_calc"},
            {"input_id": calculation_id, "output_id": result_id, "label": "result", "type": "create"},
        ],
    )
    return Addition(x_id, y_id, calculation_id, result_id)
