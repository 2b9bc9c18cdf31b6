"""The shape of a query: its tokens with the constants left out, so one verdict serves every query of a shape.

Real traffic repeats a few query shapes with different constants (a subject, a category, a threshold), and
parsing each query with rdflib's grammar costs milliseconds. The checker (``ceopgraph.queryvet``) parses
the first query of a shape in full, in its killable processes, and keeps the verdict for the shape; a later
query of the same shape gets that verdict without a parse. The verdict is the query form and the order of
the ``SELECT *`` columns: neither depends on the value of an IRI, a string or a number, and the engine still
parses every query itself (what it cannot parse is a 400 from there).

This is sound only where this lexer splits the text exactly as every SPARQL parser does, so it reads a
small, certain subset of SPARQL 1.1's terminals (§19.8) and answers ``None`` ("parse it in full") for
anything else: non-ASCII outside strings, IRIs and comments; escapes (``\\u``, which §19.2 expands before
parsing); a bare carriage return; a name, number or prefixed name glued to what could continue it; and
``SERVICE`` and ``FROM`` anywhere, also at the start of a longer name, where Oxigraph reads them as keywords
(the first is always refused, the second needs the dataset clauses read).

The one place where parsers may split the same text differently is ``<``: an IRI, or the less-than
operator after an operand (``?a<b:c#>1``). Read as operators, the characters an IRI may hold can start
nothing that runs past its ``>`` except a comment (``#``), and hold no variable without ``?`` or ``$``. So
an IRI is left out of the shape only when it holds none of ``#?$``, and a query is not shaped at all when
an IRI holding ``#`` follows an operand inside parentheses, where it could be the start of a comment to
another parser. Outside them it cannot: the grammar has operators only in expressions, and every
expression stands in parentheses (``FILTER(…)``, ``BIND(…)``, ``(… AS ?x)``, a call's arguments), so
``?s <http://…#p> ?o`` in a triple pattern is an IRI to every parser.

Every scan is linear: one pass of one regular expression whose branches never backtrack past a token.
Queries longer than ``MAX_SHAPED_CHARS`` are not shaped: that work stays bounded in the server's threads.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

# Longer queries go to the checker's processes as they are (the scan here must stay small and bounded).
MAX_SHAPED_CHARS = 4096
# Shapes whose verdicts a checker keeps (least recently used first out); a shape is at most the length
# of a query it came from, so this bounds the cache at a few megabytes.
MAX_SHAPES = 4096

# Token classes, in the order they are tried at each position: the first that matches wins, so longer
# forms come before their prefixes (a long string before a short one, a double before a decimal).
# Nothing that could continue a name, prefixed name or number (non-ASCII is never a token here).
_NAME_NEXT = r"(?![A-Za-z0-9_:\-%\\]|\.[A-Za-z0-9_:\-%\\])"
_LOCAL = r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?"
_TOKENS = re.compile(
    "|".join(
        (
            r"(?P<space>[ \t\n\r]+)",
            r"(?P<comment>#[^\n]*)",
            r"(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)",
            r"(?P<long>'''(?:[^'\\]|\\[tbnrf\\\"']|'(?!''))*'''|\"\"\"(?:[^\"\\]|\\[tbnrf\\\"']|\"(?!\"\"))*\"\"\")",
            r"(?P<string>'(?:[^'\\\n\r]|\\[tbnrf\\\"'])*'|\"(?:[^\"\\\n\r]|\\[tbnrf\\\"'])*\")",
            r"(?P<var>[?$][A-Za-z0-9_]+)",  # a name holds no '.', ':' or '-', so nothing ASCII continues it
            r"(?P<blank>_:" + _LOCAL + _NAME_NEXT + ")",
            r"(?P<pname>(?P<prefix>[A-Za-z](?:[A-Za-z0-9_\-]*)?)?:(?P<local>" + _LOCAL + ")?" + _NAME_NEXT + ")",
            r"(?P<name>[A-Za-z_][A-Za-z0-9_]*" + _NAME_NEXT + ")",
            r"(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*" + _NAME_NEXT + ")",
            r"(?P<double>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+\-]?[0-9]+" + _NAME_NEXT + ")",
            r"(?P<decimal>[0-9]*\.[0-9]+" + _NAME_NEXT + ")",
            r"(?P<integer>[0-9]+" + _NAME_NEXT + ")",
            r"(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\];,.*/+\-=!<>|^?])",
            r"(?P<other>.)",
        )
    ),
    re.DOTALL,
)
# An absolute IRI with nothing in it that, read as operators, could be a variable or a comment.
_PLAIN_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^#?$]*")
# What a token of each class stands for in a shape when its value is left out.
_LEFT_OUT = {"iri": "<>", "string": '""', "integer": "0", "decimal": "0.0"}
# Tokens after which ``<`` may be the less-than operator: the ends of operands.
_OPERAND_ENDS = frozenset({"iri", "long", "string", "var", "blank", "pname", "lang", "double", "decimal", "integer"})
_OPERAND_END_TEXT = frozenset({")", "]", "TRUE", "FALSE"})
_BARE_CR = re.compile(r"\r(?!\n)")
# Names that send a query to the full parse every time: refused always, or read in full (dataset clauses).
_NEVER_SHAPED = ("SERVICE", "FROM")


@dataclass(frozen=True)
class Shape:
    """A query's significant tokens, constants left out; equal shapes get equal verdicts."""

    tokens: tuple[str, ...]


def shape_of(query: str) -> Shape | None:
    """The shape of ``query``, or ``None`` when it must be parsed in full (see the module's docstring)."""
    if len(query) > MAX_SHAPED_CHARS or "\\u" in query or "\\U" in query or _BARE_CR.search(query):
        return None
    tokens: list[str] = []
    previous_kind, previous_text = "", ""
    depth = 0  # parentheses open: where expressions, and so operators, can stand
    for match in _TOKENS.finditer(query):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        if kind == "other" or kind is None:
            return None
        text = match.group()
        if kind in ("name", "pname") and text.upper().startswith(_NEVER_SHAPED):
            return None  # Oxigraph reads a keyword at the start of a longer name: SERVICEa:b is SERVICE a:b
        if kind == "iri":
            inside = text[1:-1]
            after_operand = previous_kind in _OPERAND_ENDS or previous_text.upper() in _OPERAND_END_TEXT
            if "#" in inside and after_operand and depth > 0:
                return None
            token = _LEFT_OUT["iri"] if _PLAIN_IRI.fullmatch(inside) else text
        elif kind == "pname":
            token = (match.group("prefix") or "") + (":~" if match.group("local") else ":")
        else:
            token = _LEFT_OUT.get(kind, text)
            if text == "(":
                depth += 1
            elif text == ")":
                depth = max(0, depth - 1)
        tokens.append(token)
        previous_kind, previous_text = kind, text
    return Shape(tuple(tokens))


@dataclass(frozen=True)
class Verdict:
    """What the full parse of a query of one shape found that holds for all of them."""

    form: str
    variable_order: tuple[str, ...]


class Verdicts:
    """The verdicts a checker has reached, by shape: bounded, least recently used out first, thread-safe."""

    def __init__(self, max_shapes: int = MAX_SHAPES) -> None:
        self._max = max_shapes
        self._known: OrderedDict[Shape, Verdict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, shape: Shape) -> Verdict | None:
        with self._lock:
            verdict = self._known.get(shape)
            if verdict is not None:
                self._known.move_to_end(shape)
            return verdict

    def put(self, shape: Shape, verdict: Verdict) -> None:
        with self._lock:
            self._known[shape] = verdict
            self._known.move_to_end(shape)
            while len(self._known) > self._max:
                self._known.popitem(last=False)

    def __len__(self) -> int:
        return len(self._known)
