"""AiiDA's QueryBuilder on a store: parsing, filters, joins and projections."""

from __future__ import annotations

from .builder import QueryBuilder
from .projections import LinkQuadruple

__all__ = ["LinkQuadruple", "QueryBuilder"]
