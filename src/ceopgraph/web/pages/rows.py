"""Query solutions as typed records: each page query has a frozen dataclass naming what it reads.

``read(Record, solution)`` takes the field ``statistic_label`` from the variable ``?statisticLabel``
and checks its kind at run time against the field's type: ``URIRef``, ``Literal`` or any ``Node``,
``| None`` where the variable is optional. A solution that does not fit raises ``UnexpectedSolution``
naming the record, the variable and what the store gave, instead of a page built from the wrong term.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from rdflib import Literal, URIRef
from rdflib.term import Node

logger = logging.getLogger("ceopgraph.pages")

R = TypeVar("R")
_KINDS: tuple[type[Node], ...] = (URIRef, Literal, Node)


class UnexpectedSolution(ValueError):
    """A solution of a page query lacks a variable its record requires, or binds it to another kind of term."""


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    variable: str
    kind: type[Node]
    optional: bool


def variable_name(field_name: str) -> str:
    """``statistic_label`` → ``statisticLabel``: the SPARQL variable a field reads."""
    first, *rest = field_name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


_FIELDS: dict[type[Any], tuple[_Field, ...]] = {}


def _fields(record: type[Any]) -> tuple[_Field, ...]:
    """What each field of ``record`` reads, worked out once per record class."""
    if record not in _FIELDS:
        _FIELDS[record] = _fields_of(record)
    return _FIELDS[record]


def _fields_of(record: type[Any]) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(record)
    found = []
    for field in dataclasses.fields(record):
        hint = hints[field.name]
        union = typing.get_origin(hint) in (types.UnionType, typing.Union)
        members = typing.get_args(hint) if union else (hint,)
        kinds = [m for m in members if m is not type(None)]
        if len(kinds) != 1 or kinds[0] not in _KINDS:
            raise TypeError(f"{record.__name__}.{field.name}: a record field is URIRef, Literal or Node, or one | None")
        found.append(_Field(field.name, variable_name(field.name), kinds[0], len(kinds) != len(members)))
    return tuple(found)


def read(record: type[R], solution: Mapping[str, Node]) -> R:
    """``solution`` as a ``record``; variables the record does not name are ignored."""
    values: dict[str, Node | None] = {}
    for field in _fields(record):
        value = solution.get(field.variable)
        if value is None and not field.optional:
            raise UnexpectedSolution(f"{record.__name__}: the solution has no ?{field.variable}")
        if value is not None and not isinstance(value, field.kind):
            raise UnexpectedSolution(
                f"{record.__name__}: ?{field.variable} is a {type(value).__name__} ({str(value)[:80]!r}),"
                f" not a {field.kind.__name__}"
            )
        values[field.name] = value
    return record(**values)


def read_all(record: type[R], solutions: Iterable[Mapping[str, Node]]) -> list[R]:
    """Every solution that fits ``record``. One that does not (a blank node where a page links an IRI:
    data served with ``serve --data`` can hold anything) is left off the page and logged, so an odd
    node costs its row, not the page."""
    found = []
    for solution in solutions:
        try:
            found.append(read(record, solution))
        except UnexpectedSolution as exc:
            logger.warning("left off a page: %s", exc)
    return found


def join(
    left: Iterable[Mapping[str, Node]], right: Iterable[Mapping[str, Node]], keys: Sequence[str], at_most: int
) -> list[dict[str, Node]] | None:
    """The SPARQL join of two queries' solutions that share only the variables ``keys``, bound in every
    solution of both: each solution of ``left`` merged with each of ``right`` that binds them alike. None
    when it has more than ``at_most`` solutions (it can hold the product of the two: it stops there)."""
    by_key: dict[tuple[Node, ...], list[Mapping[str, Node]]] = {}
    for solution in right:
        by_key.setdefault(tuple(solution[k] for k in keys), []).append(solution)
    joined: list[dict[str, Node]] = []
    for solution in left:
        for other in by_key.get(tuple(solution[k] for k in keys), ()):
            if len(joined) == at_most:
                return None
            joined.append({**solution, **other})
    return joined


def text(value: Node | None, default: str = "") -> str:
    """The lexical form of an optional term, ``default`` where it is unbound."""
    return default if value is None else str(value)
