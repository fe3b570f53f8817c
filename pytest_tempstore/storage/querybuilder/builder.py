"""``QueryBuilder``: AiiDA's query language on a store.

The builder keeps the query in exactly the form of aiida-core's
``QueryBuilder.as_dict()`` (``path``, ``filters``, ``project``,
``project_map``, ``order_by``, ``limit``, ``offset``, ``distinct``), so a dict
made by aiida-core runs here unchanged through ``QueryBuilder.from_dict``,
and ``as_dict()`` of ours can be read back the same way.
"""

from __future__ import annotations

import copy
import functools
import json
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ...exceptions import InputValidationError, MultipleObjectsError, NotExistent
from ..entity_types import EntityTypes
from .classify import Classified, as_sequence, classify, default_tag_base, type_filter
from .filters import FilterCompiler
from .joins import RELATIONSHIPS, build_join
from .json_functions import register_json_functions
from .projections import Projection, compile_order, compile_projections, split_cast_suffix, take_as_is
from .schema import Source, table_of

if TYPE_CHECKING:
    import builtins

    from ..backend import SqliteTempBackend

__all__ = ["QueryBuilder"]

EDGE_TAG_DELIMITER = "--"
_DICT_KEYS = ("path", "filters", "project", "project_map", "order_by", "limit", "offset", "distinct")


_DIALECT = sqlite.dialect()


def _result_processor(column: sa.ColumnElement[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """How SQLAlchemy turns what the driver returns for ``column`` into its value (``None``: as it comes)."""
    return column.type.dialect_impl(dialect).result_processor(dialect, None)


# The queries each store compiled lately, by their JSON text: tests run the same queries again and
# again, and building one (and SQLAlchemy's cache key for it) costs more than running a small one.
_RECENT_QUERIES: weakref.WeakKeyDictionary[SqliteTempBackend, dict[str, _Built]] = weakref.WeakKeyDictionary()
_RECENT_QUERIES_KEPT = 128


def _shareable_key(query: builtins.dict[str, Any]) -> str | None:
    """The JSON text of a query's state; ``None`` when a value is not plain JSON (its text is ambiguous)."""
    try:
        return json.dumps(query, allow_nan=False)
    except (TypeError, ValueError):
        return None


class DriverQuery:
    """A statement compiled once into SQL and values for the driver, and how to read its rows.

    Values and columns go through the same processors SQLAlchemy would apply
    (a time becomes text on the way in, and text a time on the way out).
    """

    def __init__(
        self, sql: str, values: tuple[Any, ...], processors: tuple[Callable[[Any], Any] | None, ...]
    ) -> None:
        self.sql = sql
        self.values = values
        self._processors = processors if any(processors) else None

    @classmethod
    def of(cls, statement: sa.Select[Any], dialect: sa.Dialect) -> DriverQuery | None:
        """``statement`` compiled for the driver; ``None`` where only SQLAlchemy can send its values."""
        # Its values are known now: lists are expanded into placeholders here, not at each run.
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        names = compiled.positiontup
        if names is None:
            return None
        given = compiled.construct_params()
        processes = {
            name: parameter.type.dialect_impl(dialect).bind_processor(dialect)
            for name, parameter in compiled.binds.items()
        }
        values = []
        for name in names:
            if name in processes:
                process = processes[name]
            elif any(processes.values()):
                return None  # a list was expanded: which processor its values need is SQLAlchemy's to know
            else:
                process = None
            values.append(given[name] if process is None else process(given[name]))
        processors = tuple(_result_processor(column, dialect) for column in statement.selected_columns)
        return cls(compiled.string, tuple(values), processors)

    def read(self, rows: list[Any]) -> list[Any]:
        """The driver's rows as SQLAlchemy would hand them on: each value through its column's processor."""
        processors = self._processors
        if processors is None:
            return rows
        return [
            tuple(
                value if process is None else process(value)
                for process, value in zip(processors, row, strict=True)
            )
            for row in rows
        ]


class _Built:
    """A compiled query: the statement and how to read its rows."""

    def __init__(
        self, statement: sa.Select[Any], projections: list[Projection], needs_functions: bool
    ) -> None:
        self.statement = statement
        self.projections = projections
        self.needs_functions = needs_functions
        # Rows of plain columns need no per-value work: list() is all (the common case, e.g. ids).
        plain = all(projection.convert is take_as_is for projection in projections)
        self.convert: Callable[[Sequence[Any]], list[Any]] = list if plain else self._convert_each
        # Nor, then, SQLAlchemy's rows, when no column has a result processor: the driver's tuples will do.
        self.driver_rows = plain and not any(
            _result_processor(column, _DIALECT) for column in statement.selected_columns
        )
        # The statements derived from this one, each made once: a new statement object costs
        # SQLAlchemy a new cache key, which takes longer than running a small query.
        self._limited: dict[int, sa.Select[Any]] = {}
        # How the driver runs them, by the statement's id (the statements live as long as this).
        self._driver_queries: dict[int, DriverQuery | None] = {}
        self._run_by_sqlalchemy: set[int] = set()

    @functools.cached_property
    def counting(self) -> sa.Select[Any]:
        """The statement that counts the rows (``count()``)."""
        return sa.select(sa.func.count()).select_from(self.statement.subquery())

    def limited(self, limit: int) -> sa.Select[Any]:
        """The statement with ``LIMIT limit`` (``first()``, ``one()``)."""
        statement = self._limited.get(limit)
        if statement is None:
            statement = self._limited[limit] = self.statement.limit(limit)
        return statement

    def driver_query(self, statement: sa.Select[Any], backend: SqliteTempBackend) -> DriverQuery | None:
        """``statement`` (this query's own, ``counting`` or ``limited()``) as the driver runs it.

        ``None`` when SQLAlchemy runs it: the first time (its cache compiles a
        query it has seen with other values for less than compiling it here
        costs, and many queries run once), when it calls the store's JSON
        functions (registered on the session's connection), or when it has a
        list of values that SQLAlchemy would convert one by one.
        """
        key = id(statement)
        if key in self._driver_queries:
            return self._driver_queries[key]
        if key not in self._run_by_sqlalchemy:
            self._run_by_sqlalchemy.add(key)
            return None
        dialect = backend.get_session().get_bind().dialect
        query = None if self.needs_functions else DriverQuery.of(statement, dialect)
        self._driver_queries[key] = query
        return query

    def _convert_each(self, row: Sequence[Any]) -> list[Any]:
        values = []
        position = 0
        for projection in self.projections:
            width = len(projection.columns)
            values.append(projection.convert(row[position : position + width]))
            position += width
        return values


class QueryBuilder:
    """Queries over a store's entities, in AiiDA's QueryBuilder language.

    ::

        qb = QueryBuilder(backend=store)
        qb.append("data.core.int.Int.", tag="x", filters={"attributes.value": {">": 1}}, project=["uuid"])
        qb.append("process.calculation.", with_incoming="x", project="*")
        qb.all()
    """

    def __init__(
        self,
        backend: SqliteTempBackend,
        *,
        path: Sequence[Any] = (),
        filters: Mapping[str, Any] | None = None,
        project: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order_by: Any = None,
        distinct: bool = False,
        project_map: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        from ..backend import SqliteTempBackend  # noqa: PLC0415 - the backend imports the query layer lazily

        if not isinstance(backend, SqliteTempBackend):
            raise InputValidationError(f"QueryBuilder needs a SqliteTempBackend, not {backend!r}")
        self._backend = backend
        self._path: list[dict[str, Any]] = []
        self._filters: dict[str, dict[str, Any]] = {}
        self._projections: dict[str, list[dict[str, dict[str, Any]]]] = {}
        self._project_map: dict[str, dict[str, str]] = {}
        self._order_by: list[dict[str, list[dict[str, dict[str, str]]]]] = []
        self._limit: int | None = None
        self._offset: int | None = None
        self._distinct = False
        self._classes: dict[Any, set[str]] = {}
        # The last compiled query and the state it was compiled from: append() compiles to
        # validate, and running the query right after should not compile again.
        self._compiled: tuple[str, _Built] | None = None
        for item in path:
            if isinstance(item, Mapping):
                self.append(**item)
            else:
                self.append(item)
        for tag, spec in (filters or {}).items():
            self.add_filter(tag, spec)
        for tag, spec in (project or {}).items():
            self.add_projection(tag, spec)
        self._set_project_map(project_map or {})
        self.limit(limit)
        self.offset(offset)
        if order_by:
            self.order_by(order_by)
        self.distinct(distinct)

    @property
    def backend(self) -> SqliteTempBackend:
        """The store the query runs on."""
        return self._backend

    # ------------------------------------------------------------------ serialisation

    def as_dict(self, copy_: bool = True) -> dict[str, Any]:
        """The query as a JSON-serialisable dict, in the format of aiida-core's ``as_dict()``."""
        data = {
            "path": self._path,
            "filters": self._filters,
            "project": self._projections,
            "project_map": self._project_map,
            "order_by": self._order_by,
            "limit": self._limit,
            "offset": self._offset,
            "distinct": self._distinct,
        }
        return copy.deepcopy(data) if copy_ else data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], backend: SqliteTempBackend) -> QueryBuilder:
        """A builder for the query ``data`` (from ``as_dict()`` here or in aiida-core) on ``backend``."""
        if not isinstance(data, Mapping):
            raise InputValidationError(f"from_dict() takes a dict, not {type(data).__name__}")
        unknown = set(data) - set(_DICT_KEYS)
        if unknown:
            raise InputValidationError(
                f"unknown query keys {sorted(unknown)}; valid keys are: {', '.join(_DICT_KEYS)}"
            )
        return cls(backend=backend, **copy.deepcopy(dict(data)))

    def __repr__(self) -> str:
        return f"QueryBuilder({self.as_dict(copy_=False)!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> QueryBuilder:
        return type(self).from_dict(self.as_dict(), backend=self._backend)

    # ------------------------------------------------------------------ building the path

    def _tag_of(self, value: Any) -> str:
        """The tag named by ``value``: a tag string, or the entity class/type it was appended with."""
        if isinstance(value, str) and value in self._filters:
            return value
        try:
            tags = self._classes.get(value)
        except TypeError:
            tags = None
        if tags and len(tags) == 1:
            return next(iter(tags))
        if tags:
            raise InputValidationError(f"{value!r} stands for several tags {sorted(tags)}; give the tag")
        raise InputValidationError(
            f"unknown tag {value!r}; known tags are: {', '.join(self._filters) or 'none'}"
        )

    def get_used_tags(self, vertices: bool = True, edges: bool = True) -> list[str]:
        """The tags of the path's vertices and/or edges."""
        tags = []
        for index, item in enumerate(self._path):
            if vertices:
                tags.append(item["tag"])
            if edges and index > 0:
                tags.append(item["edge_tag"])
        return tags

    def append(
        self,
        entity: Any = None,
        *,
        cls: Any = None,
        entity_type: str | Sequence[str] | None = None,
        orm_base: str | None = None,
        tag: str | None = None,
        filters: Mapping[str, Any] | None = None,
        project: Any = None,
        subclassing: bool = True,
        edge_tag: str | None = None,
        edge_filters: Mapping[str, Any] | None = None,
        edge_project: Any = None,
        outerjoin: bool = False,
        joining_keyword: str | None = None,
        joining_value: Any = None,
        **relationships: Any,
    ) -> QueryBuilder:
        """Add a vertex to the query path.

        ``entity`` is an entity class (``Node``, ``User``, ...), an
        ``EntityTypes`` value, a node type string (``'data.core.int.Int.'``,
        ``'data.'``) or a group type (``'group.core'``); a list of them of one
        kind selects any. ``cls``/``entity_type`` are AiiDA's names for it.
        One ``with_*=tag`` keyword joins the new vertex to an earlier one (by
        default a node is an output of the previous vertex: ``with_incoming``).
        """
        given = [value for value in (entity, cls, entity_type) if value is not None]
        if len(given) != 1 and not (entity_type == "" and entity is None and cls is None):
            raise InputValidationError("append() needs exactly one of entity, cls or entity_type")
        spec = given[0] if given else ""
        classified = classify(spec, orm_base)
        if tag is not None:
            if not isinstance(tag, str) or not tag or EDGE_TAG_DELIMITER in tag:
                raise InputValidationError(
                    f"invalid tag {tag!r}: a non-empty string without {EDGE_TAG_DELIMITER!r}"
                )
            if tag in self._filters:
                raise InputValidationError(f"the tag {tag!r} is already in use")
        else:
            tag = self._unique_tag(classified)

        keyword, joined_tag = self._joining(classified, joining_keyword, joining_value, relationships)
        if self._path and edge_tag is None:
            edge_tag = f"{joined_tag}{EDGE_TAG_DELIMITER}{tag}"
        if edge_tag is not None and (edge_tag in self._filters or edge_tag == tag):
            raise InputValidationError(f"the edge tag {edge_tag!r} is already in use")

        saved = self.as_dict()
        saved_classes = copy.deepcopy(self._classes)
        try:
            self._add_path_item(
                classified,
                {"tag": tag, "joining_keyword": keyword, "joining_value": joined_tag, "edge_tag": edge_tag},
                {
                    "filters": filters,
                    "project": project,
                    "edge_filters": edge_filters,
                    "edge_project": edge_project,
                },
                subclassing=subclassing,
                outerjoin=outerjoin,
            )
            for key in (key for key in (entity, cls) if key is not None and not isinstance(key, str | list)):
                self._classes.setdefault(key, set()).add(tag)
            self._compile()
        except BaseException:
            self._restore(saved, saved_classes)
            raise
        return self

    def _add_path_item(
        self,
        classified: Classified,
        names: dict[str, Any],
        specs: dict[str, Any],
        *,
        subclassing: bool,
        outerjoin: bool,
    ) -> None:
        """Record a new path item: its type filter, filters and projections, and its edge's."""
        tag, edge_tag = names["tag"], names["edge_tag"]
        self._filters[tag] = {}
        self._projections[tag] = []
        restriction = type_filter(classified, subclassing)
        if restriction is not None:
            self._filters[tag][restriction[0]] = restriction[1]
        if edge_tag is not None:
            self._filters[edge_tag] = {}
            self._projections[edge_tag] = []
        targets = ((tag, "filters", "project"), (edge_tag, "edge_filters", "edge_project"))
        for target, filters_key, project_key in targets:
            if target is not None and specs[filters_key] is not None:
                self.add_filter(target, specs[filters_key])
            if target is not None and specs[project_key] is not None:
                self.add_projection(target, specs[project_key])
        self._path.append(
            {
                "entity_type": classified.entity_type,
                "orm_base": classified.orm_base.value,
                **names,
                "outerjoin": bool(outerjoin),
            }
        )

    def _restore(self, saved: dict[str, Any], classes: dict[Any, set[str]]) -> None:
        self._path = saved["path"]
        self._filters = saved["filters"]
        self._projections = saved["project"]
        self._classes = classes

    def _new_tag(self, tag: str | None, classified: Classified) -> str:
        """``tag`` checked, or a new unique tag made from the entity (``Int_1``, ``node_2``, ...)."""
        if tag is None:
            return self._unique_tag(classified)
        if not isinstance(tag, str) or not tag or EDGE_TAG_DELIMITER in tag:
            raise InputValidationError(
                f"invalid tag {tag!r}: a non-empty string without {EDGE_TAG_DELIMITER!r}"
            )
        if tag in self._filters:
            raise InputValidationError(f"the tag {tag!r} is already in use")
        return tag

    def _unique_tag(self, classified: Classified) -> str:
        base = default_tag_base(classified)
        index = 1
        while f"{base}_{index}" in self._filters:
            index += 1
        return f"{base}_{index}"

    def _joining(
        self, classified: Classified, keyword: str | None, value: Any, relationships: Mapping[str, Any]
    ) -> tuple[str | None, str | None]:
        valid = RELATIONSHIPS[classified.orm_base.value]
        every = sorted({name for names in RELATIONSHIPS.values() for name in names})
        for name in relationships:
            if name not in every:
                raise InputValidationError(
                    f"unknown argument {name!r} of append(); relationship keywords are: {', '.join(every)}"
                )
            if name not in valid:
                raise InputValidationError(
                    f"{name!r} is not a relationship of a {classified.orm_base.value}; "
                    f"valid: {', '.join(sorted(valid))}"
                )
        if len(relationships) + (keyword is not None) > 1:
            raise InputValidationError(
                f"append() takes one relationship keyword, not {sorted(relationships)}"
            )
        if relationships:
            keyword, value = next(iter(relationships.items()))
        if not self._path:
            if keyword is not None:
                raise InputValidationError(f"the first vertex cannot be joined ({keyword}={value!r})")
            return None, None
        if keyword is None:
            keyword = "with_incoming" if classified.orm_base is EntityTypes.NODE else "with_node"
            return keyword, str(self._path[-1]["tag"])
        if keyword not in valid:
            raise InputValidationError(
                f"{keyword!r} is not a relationship of a {classified.orm_base.value}; "
                f"valid: {', '.join(sorted(valid))}"
            )
        return keyword, self._tag_of(value)

    # ------------------------------------------------------------------ filters, projections, order

    def add_filter(self, tag: Any, filter_spec: Mapping[str, Any]) -> QueryBuilder:
        """Add (or replace, per key) filters of a tag."""
        resolved = self._tag_of(tag)
        if not isinstance(filter_spec, Mapping):
            raise InputValidationError(f"filters must be a dict, not {filter_spec!r}")
        from ..entities import Entity  # noqa: PLC0415

        processed = {}
        for key, value in filter_spec.items():
            # As in AiiDA: {'user': <User>} filters on user_id.
            if isinstance(value, Entity):
                processed[f"{key}_id"] = value.pk
            else:
                processed[key] = value
        previous = copy.deepcopy(self._filters[resolved])
        self._filters[resolved].update(processed)
        if self._path and any(item["tag"] == resolved or item["edge_tag"] == resolved for item in self._path):
            try:
                self._compile()
            except BaseException:
                self._filters[resolved] = previous
                raise
        return self

    def add_projection(self, tag: Any, projection: Any) -> None:
        """Set what a tag projects: ``'*'``, ``'**'``, a column, a JSON path, a dict with options, a list."""
        resolved = self._tag_of(tag)
        items: list[dict[str, dict[str, Any]]] = []
        for item in as_sequence(projection):
            if isinstance(item, str):
                name, cast = split_cast_suffix(item)
                items.append({name: {} if cast is None else {"cast": cast}})
            elif isinstance(item, Mapping):
                for name, spec in item.items():
                    if not isinstance(spec, Mapping):
                        raise InputValidationError(
                            f"the options of projection {name!r} must be a dict, not {spec!r}"
                        )
                    base, cast = split_cast_suffix(name)
                    options = dict(spec)
                    if cast is not None:
                        options.setdefault("cast", cast)
                    items.append({base: options})
            else:
                raise InputValidationError(f"cannot project {item!r}: give a string or a dict")
        previous = self._projections.get(resolved, [])
        self._projections[resolved] = items
        if self._path and any(item["tag"] == resolved or item["edge_tag"] == resolved for item in self._path):
            try:
                self._compile()
            except BaseException:
                self._projections[resolved] = previous
                raise

    def _set_project_map(self, project_map: Mapping[str, Mapping[str, str]]) -> None:
        if not isinstance(project_map, Mapping) or not all(
            isinstance(v, Mapping) for v in project_map.values()
        ):
            raise InputValidationError(f"project_map must map tags to dicts, not {project_map!r}")
        self._project_map = {tag: dict(mapping) for tag, mapping in project_map.items()}

    def order_by(self, order_by: Any) -> QueryBuilder:
        """Order the rows: ``{tag: [key, {key: 'desc'}, {key: {'order': 'asc', 'cast': 'i'}}]}`` or a list."""
        normalised: list[dict[str, list[dict[str, dict[str, str]]]]] = []
        for spec in as_sequence(order_by):
            if not isinstance(spec, Mapping):
                raise InputValidationError(f"order_by takes {{tag: [keys]}} dicts, not {spec!r}")
            entry: dict[str, list[dict[str, dict[str, str]]]] = {}
            for tag, keys in spec.items():
                resolved = self._tag_of(tag)
                entry[resolved] = []
                for key in as_sequence(keys):
                    items = {key: {}} if isinstance(key, str) else key
                    if not isinstance(items, Mapping):
                        raise InputValidationError(f"cannot order by {key!r}")
                    for name, given in items.items():
                        options = {"order": given} if isinstance(given, str) else dict(given)
                        unknown = set(options) - {"order", "cast"}
                        if unknown:
                            raise InputValidationError(
                                f"unknown order_by option(s) {sorted(unknown)}; valid: order, cast"
                            )
                        base, cast = split_cast_suffix(name)
                        if cast is not None:
                            options.setdefault("cast", cast)
                        options.setdefault("order", "asc")
                        if options["order"] not in ("asc", "desc"):
                            raise InputValidationError(
                                f"unknown order {options['order']!r}; valid: asc, desc"
                            )
                        entry[resolved].append({base: options})
            normalised.append(entry)
        previous = self._order_by
        self._order_by = normalised
        try:
            self._compile()
        except BaseException:
            self._order_by = previous
            raise
        return self

    def limit(self, limit: int | None) -> QueryBuilder:
        """Return at most ``limit`` rows."""
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise InputValidationError(f"limit must be a non-negative integer or None, not {limit!r}")
        self._limit = limit
        return self

    def offset(self, offset: int | None) -> QueryBuilder:
        """Skip the first ``offset`` rows."""
        if offset is not None and (not isinstance(offset, int) or isinstance(offset, bool) or offset < 0):
            raise InputValidationError(f"offset must be a non-negative integer or None, not {offset!r}")
        self._offset = offset
        return self

    def distinct(self, value: bool = True) -> QueryBuilder:
        """Return each distinct row once."""
        if not isinstance(value, bool):
            raise InputValidationError(f"distinct() takes a bool, not {value!r}")
        self._distinct = value
        return self

    # ------------------------------------------------------------------ compiling

    def _compile(self) -> _Built:
        query = self.as_dict(copy_=False)
        key = _shareable_key(query)
        # The JSON text where there is one (it cannot equal a repr: JSON quotes with ").
        state = repr(query) if key is None else key
        if self._compiled is not None and self._compiled[0] == state:
            return self._compiled[1]
        if key is None:
            built = self._compile_now()
        else:
            recent = _RECENT_QUERIES.setdefault(self._backend, {})
            # Most recently used last; the oldest goes once the store has seen many different queries.
            cached = recent.pop(key, None)
            built = self._compile_now() if cached is None else cached
            recent[key] = built
            if len(recent) > _RECENT_QUERIES_KEPT:
                del recent[next(iter(recent))]
        self._compiled = (state, built)
        return built

    def _join_path(self, compiler: FilterCompiler) -> tuple[dict[str, Source], sa.FromClause]:
        """A source per tag (vertices and edges) and the FROM clause that joins them."""
        sources: dict[str, Source] = {}
        first = self._path[0]
        sources[first["tag"]] = Source.for_table(
            first["tag"], first["orm_base"], table_of(EntityTypes(first["orm_base"])), "vertex_0"
        )
        clause: sa.FromClause = sources[first["tag"]].selectable
        for index, item in enumerate(self._path[1:], start=1):
            new = Source.for_table(
                item["tag"], item["orm_base"], table_of(EntityTypes(item["orm_base"])), f"vertex_{index}"
            )
            joined_tag = item["joining_value"]
            if joined_tag not in sources:
                raise InputValidationError(
                    f"{item['joining_keyword']}={joined_tag!r} names no earlier tag; "
                    f"known: {', '.join(sources)}"
                )
            join = build_join(
                new,
                sources[joined_tag],
                item["joining_keyword"],
                outer=bool(item.get("outerjoin")),
                joined_filters=self._filters.get(joined_tag, {}),
                compiler=compiler,
                index=index,
            )
            clause = join.apply(clause)
            sources[item["tag"]] = new
            if join.edge is not None:
                join.edge.tag = item["edge_tag"]
                sources[item["edge_tag"]] = join.edge
            elif self._filters.get(item["edge_tag"]) or self._projections.get(item["edge_tag"]):
                raise InputValidationError(
                    f"the edge {item['edge_tag']!r} ({item['joining_keyword']}) "
                    "has no table to filter or project"
                )
        return sources, clause

    def _conditions(
        self, sources: dict[str, Source], compiler: FilterCompiler
    ) -> list[sa.ColumnElement[bool]]:
        conditions = []
        for tag, spec in self._filters.items():
            if not spec:
                continue
            if tag not in sources:
                raise InputValidationError(
                    f"filters name the unknown tag {tag!r}; known: {', '.join(sources)}"
                )
            condition = compiler.compile(sources[tag], spec)
            if condition is not None:
                conditions.append(condition)
        return conditions

    def _compile_projections(self, sources: dict[str, Source]) -> list[Projection]:
        """The projections in AiiDA's order: vertices along the path, then edges; default: the last vertex."""
        unknown = [tag for tag, items in self._projections.items() if items and tag not in sources]
        if unknown:
            raise InputValidationError(
                f"projections name unknown tags {unknown}; known: {', '.join(sources)}"
            )
        if not any(self._projections.values()):
            return compile_projections(sources[self._path[-1]["tag"]], [{"*": {}}], self._backend)
        ordered_tags = [item["tag"] for item in self._path] + [item["edge_tag"] for item in self._path[1:]]
        projections: list[Projection] = []
        for tag in ordered_tags:
            if tag in sources and self._projections.get(tag):
                projections.extend(compile_projections(sources[tag], self._projections[tag], self._backend))
        return projections

    def _compile_now(self) -> _Built:
        if not self._path:
            raise InputValidationError("the query has no entity: call append() first")
        compiler = FilterCompiler()
        sources, clause = self._join_path(compiler)
        conditions = self._conditions(sources, compiler)
        projections = self._compile_projections(sources)

        ordering = []
        for spec in self._order_by:
            for tag, items in spec.items():
                if tag not in sources:
                    raise InputValidationError(
                        f"order_by names the unknown tag {tag!r}; known: {', '.join(sources)}"
                    )
                for item in items:
                    for name, options in item.items():
                        ordering.append(compile_order(sources[tag], name, options))

        columns = [column for projection in projections for column in projection.columns]
        statement = sa.select(*columns).select_from(clause).where(*conditions).order_by(*ordering)
        if self._distinct:
            statement = statement.distinct()
        if self._limit is not None:
            statement = statement.limit(self._limit)
        if self._offset is not None:
            statement = statement.offset(self._offset)
        return _Built(statement, projections, compiler.needs_json_functions)

    def as_sql(self) -> str:
        """The SQL of the query, for debugging."""
        return str(self._compile().statement.compile(compile_kwargs={"literal_binds": False}))

    # ------------------------------------------------------------------ running

    def _rows(self, built: _Built, statement: sa.Select[Any] | None = None) -> Sequence[Any]:
        if statement is None:
            statement = built.statement
        query = built.driver_query(statement, self._backend)
        if query is not None:
            # Straight on the driver: a session transaction costs more than running a small query.
            rows = self._backend.read_on_driver(query.sql, query.values)
            if rows is not None:
                return query.read(rows)
        with self._backend.transaction() as session:
            if built.needs_functions:
                connection = session.connection().connection.dbapi_connection
                assert connection is not None
                register_json_functions(connection)  # type: ignore[arg-type]
            result = session.execute(statement)
            if built.driver_rows and isinstance(result, sa.CursorResult):
                # Building a Row per database row costs more than running a simple query.
                with result:
                    return result.cursor.fetchall()
            return result.all()

    def iterall(self, batch_size: int | None = None) -> Iterator[list[Any]]:
        """The rows, each a list of the projected values (path order, then edges)."""
        built = self._compile()
        return map(built.convert, self._rows(built))

    def all(self, batch_size: int | None = None, flat: bool = False) -> list[Any]:
        """Every row as a list of projected values; with ``flat=True`` the values of all rows in one list."""
        rows = list(self.iterall(batch_size))
        return [value for row in rows for value in row] if flat else rows

    def first(self, flat: bool = False) -> Any:
        """The first row (``None`` if none); with ``flat=True`` and one projection, just its value."""
        built = self._compile()
        rows = self._rows(built, built.limited(1))
        if not rows:
            return None
        values = built.convert(rows[0])
        return values[0] if flat and len(values) == 1 else values

    def one(self) -> list[Any]:
        """The only row; ``NotExistent`` if there is none, ``MultipleObjectsError`` if there are several."""
        built = self._compile()
        rows = self._rows(built, built.limited(2))
        if not rows:
            raise NotExistent("the query returned no row")
        if len(rows) > 1:
            raise MultipleObjectsError("the query returned more than one row")
        return built.convert(rows[0])

    def count(self) -> int:
        """The number of rows the query returns."""
        built = self._compile()
        return int(self._rows(built, built.counting)[0][0])

    def iterdict(self, batch_size: int | None = None) -> Iterator[dict[str, dict[str, Any]]]:
        """The rows as ``{tag: {projection key: value}}``."""
        built = self._compile()
        for row in self._rows(built):
            values = built.convert(row)
            result: dict[str, dict[str, Any]] = {}
            for projection, value in zip(built.projections, values, strict=True):
                key = self._project_map.get(projection.tag, {}).get(projection.key, projection.key)
                result.setdefault(projection.tag, {})[key] = value
            yield result

    def dict(self, batch_size: int | None = None) -> list[dict[str, dict[str, Any]]]:
        """Every row as ``{tag: {projection key: value}}``."""
        return list(self.iterdict(batch_size))

    # ------------------------------------------------------------------ AiiDA's path shortcuts

    def _neighbours(self, keyword: str, entity: Any, kwargs: builtins.dict[str, Any]) -> QueryBuilder:
        if not self._path:
            raise InputValidationError("the query has no entity to start from: call append() first")
        return self.append(entity if entity is not None else "", **{keyword: self._path[-1]["tag"]}, **kwargs)

    def inputs(self, entity: Any = None, **kwargs: Any) -> QueryBuilder:
        """Append the inputs of the last vertex."""
        return self._neighbours("with_outgoing", entity, kwargs)

    def outputs(self, entity: Any = None, **kwargs: Any) -> QueryBuilder:
        """Append the outputs of the last vertex."""
        return self._neighbours("with_incoming", entity, kwargs)

    def children(self, entity: Any = None, **kwargs: Any) -> QueryBuilder:
        """Append the descendants of the last vertex."""
        return self._neighbours("with_ancestors", entity, kwargs)

    def parents(self, entity: Any = None, **kwargs: Any) -> QueryBuilder:
        """Append the ancestors of the last vertex."""
        return self._neighbours("with_descendants", entity, kwargs)
