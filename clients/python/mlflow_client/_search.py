"""MLflow's search semantics — filter grammar, ``order_by`` and page tokens — implemented once.

The stub server's stores and the client's local file store evaluate searches with this module, so a
filter means the same wherever it is evaluated locally, and the same as on a real MLflow server. The
facts come from MLflow 3.x: its filter parser for the grammar and the accepted keys, its SQL store for
null handling, default orderings and the extra checks that store makes.

Grammar (keywords are case-insensitive, entity prefixes and keys are not)::

    filter     := clause (AND clause)*
    clause     := identifier ('=' | '!=' | '<' | '<=' | '>' | '>=' | LIKE | ILIKE) value
                | identifier [NOT] IN '(' string (',' string)* [','] ')'
                | identifier IS [NOT] NULL
    identifier := [entity '.'] key        -- entity and key may be quoted with `backticks`; keys also "..."
    value      := 'string' | "string" | number
    order_by   := identifier [ASC | DESC]

Paging is keyset-based: a token records the sort key of the last item returned, and the next page
starts strictly after it, so items inserted between two requests cause neither duplicates nor skips.
MLflow's own tokens (``base64({"offset": N})``) are accepted too, with MLflow's answers to malformed ones,
and a search continued from one goes on in offsets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeAlias, TypeVar

from ._generated import models as m

__all__ = ["SearchError", "offset_from_token", "search_experiments", "search_runs"]

T = TypeVar("T")

# One sort clause of one item: (rank, value). Rank 0 is a present value, higher ranks are NaN and
# missing values, which sort after present ones whichever the direction (MLflow's SQL store does the
# same). The value is a float, int or str, the same type for every item of a clause.
_KeyPart: TypeAlias = tuple[int, Any]
_Key: TypeAlias = tuple[_KeyPart, ...]


class SearchError(ValueError):
    """Bad filter/order_by/page token; the server maps it to INVALID_PARAMETER_VALUE (HTTP 400)."""


# --- tokens ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "number", "string", "op", ".", "(", ")", ",", "end"
    text: str  # a string's content without its quotes, otherwise the source text
    pos: int
    end: int
    quote: str = ""


_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?!\w)")
_WORD = re.compile(r"\w+")
_OPS = ("!=", "<=", ">=", "<>", "==", "=", "<", ">")  # "<>" and "==" lex, to be rejected by name


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        glued = toks[-1].kind if toks and toks[-1].end == i else ""  # a token touching this one
        if ch in "'\"`":
            tok = _scan_quoted(text, i)
        elif ch == "." and glued in ("word", "string"):
            tok = _Tok(".", ".", i, i + 1)
        elif glued == "." and (word := _WORD.match(text, i)):
            # A key right after the dot may start with a digit (metrics.1st), as MLflow allows.
            tok = _Tok("word", word.group(), i, word.end())
        elif number := _NUMBER.match(text, i):
            tok = _Tok("number", number.group(), i, number.end())
        elif word := _WORD.match(text, i):
            tok = _Tok("word", word.group(), i, word.end())
        elif ch in "(),":
            tok = _Tok(ch, ch, i, i + 1)
        else:
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise SearchError(
                    f"Unexpected character {ch!r} at position {i} in {text!r}; quote keys holding special "
                    "characters with backticks, e.g. metrics.`my-metric`."
                )
            tok = _Tok("op", op, i, i + len(op))
        toks.append(tok)
        i = tok.end
    toks.append(_Tok("end", "", len(text), len(text)))
    return toks


def _scan_quoted(text: str, start: int) -> _Tok:
    quote = text[start]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "`":
            i += 2
        elif ch != quote:
            i += 1
        elif text.startswith(quote, i + 1):
            # A doubled quote does not end the string. Like MLflow, we keep both characters: its
            # server compares the text between the outer quotes verbatim.
            i += 2
        else:
            return _Tok("string", text[start + 1 : i], start, i + 1, quote)
    raise SearchError(f"Unterminated string starting at position {start} in {text!r}.")


# --- parser ----------------------------------------------------------------------------------------


class _Ident(NamedTuple):
    entity: str | None  # the prefix before the first dot, None when there is none
    key: str
    text: str  # as written, for error messages


class _Clause(NamedTuple):
    ident: _Ident
    op: str  # upper case: "=", "LIKE", "NOT IN", "IS NULL", ...
    value: _Tok | tuple[_Tok, ...] | None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok.kind == "word" and tok.text.upper() in words:
            self.take()
            return tok.text.upper()
        return None

    def error(self, message: str, tok: _Tok) -> SearchError:
        found = "the end" if tok.kind == "end" else repr(self.text[tok.pos : tok.end])
        return SearchError(f"{message}, found {found} at position {tok.pos} in {self.text!r}.")

    def filter(self) -> list[_Clause]:
        clauses = [self.clause()]
        while (tok := self.take()).kind != "end":
            word = tok.text.upper() if tok.kind == "word" else ""
            if word == "OR":
                raise self.error(
                    "Invalid clause: OR is not supported, MLflow filters combine clauses with AND only", tok
                )
            if word != "AND":
                raise self.error("Expected AND between clauses", tok)
            clauses.append(self.clause())
        return clauses

    def order_by(self) -> tuple[_Ident, bool]:
        ident = self.ident()
        descending = self.keyword("ASC", "DESC") == "DESC"
        if self.peek().kind != "end":
            raise self.error(f"Invalid order_by clause; expected ASC or DESC after {ident.text!r}", self.peek())
        return ident, descending

    def ident(self) -> _Ident:
        first = self.peek()
        if not (first.kind == "word" or (first.kind == "string" and first.quote in '`"')):
            raise self.error("Expected a key such as metrics.acc, params.lr, tags.t or attributes.status", first)
        parts = [self.take()]
        while self.peek().kind == ".":
            dot = self.take()
            part = self.peek()
            if part.kind not in ("word", "string") or part.pos != dot.end:
                raise self.error("Expected a key after '.'", part)
            parts.append(self.take())
        text = self.text[parts[0].pos : parts[-1].end]
        if len(parts) == 1:
            return _Ident(None, parts[0].text, text)
        entity, rest = parts[0], parts[1:]
        if entity.kind == "string" and entity.quote != "`":
            raise SearchError(f"Invalid entity type {entity.text!r} in {self.text!r}; quote it with backticks.")
        if len(rest) == 1:
            key = rest[0].text
        elif all(p.kind == "word" for p in rest):
            key = ".".join(p.text for p in rest)  # tags.mlflow.runName: the key holds dots
        else:
            raise SearchError(f"Invalid key {text!r} in {self.text!r}; quote the whole key, e.g. tags.`a.b c`.")
        return _Ident(entity.text, key, text)

    def clause(self) -> _Clause:
        ident = self.ident()
        tok = self.take()
        if tok.kind == "op":
            return _Clause(ident, tok.text, self.scalar())
        word = tok.text.upper() if tok.kind == "word" else ""
        if word in ("LIKE", "ILIKE"):
            return _Clause(ident, word, self.scalar())
        if word == "IN" or (word == "NOT" and self.keyword("IN")):
            return _Clause(ident, "IN" if word == "IN" else "NOT IN", self.list())
        if word == "IS":
            negated = self.keyword("NOT")
            if not self.keyword("NULL"):
                raise self.error("Expected NULL after IS", self.peek())
            return _Clause(ident, "IS NOT NULL" if negated else "IS NULL", None)
        if word == "NOT":
            raise self.error("Invalid comparator: NOT is only allowed in NOT IN", self.peek())
        raise self.error(f"Expected a comparator after {ident.text!r}", tok)

    def scalar(self) -> _Tok:
        tok = self.take()
        if tok.kind not in ("number", "string", "word"):  # words and `x` get a precise error per key type
            raise self.error("Expected a value", tok)
        return tok

    def list(self) -> tuple[_Tok, ...]:
        if (tok := self.take()).kind != "(":
            raise self.error("Expected '(' to open the IN list", tok)
        items: list[_Tok] = []
        while (tok := self.take()).kind != ")":
            if tok.kind != "string" or tok.quote == "`":
                raise self.error("IN lists hold quoted strings only", tok)
            items.append(tok)
            if self.peek().kind != ")" and (sep := self.take()).kind != ",":  # a trailing comma is fine
                raise self.error("Expected ',' or ')' in the IN list", sep)
        if not items:
            raise SearchError(f"Empty IN list in {self.text!r}; give at least one quoted string.")
        return tuple(items)


# --- value tests -----------------------------------------------------------------------------------

_NUMERIC_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
_LIST_OPS = frozenset({"IN", "NOT IN"})
_NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
_INTEGER = re.compile(r"-?\d+")


def _bad_op(c: _Clause, what: str, allowed: Iterable[str]) -> SearchError:
    ops = ", ".join(sorted(allowed))
    return SearchError(f"Invalid comparator {c.op!r} for {what} {c.ident.text!r}; use one of {ops}.")


def _numeric_test(c: _Clause, what: str, *, integer_only: bool = False) -> Callable[[float], bool]:
    if c.op not in _NUMERIC_OPS:
        raise _bad_op(c, what, _NUMERIC_OPS)
    tok = c.value
    if not isinstance(tok, _Tok) or tok.kind != "number":
        shown = tok.text if isinstance(tok, _Tok) else "a list"
        raise SearchError(f"Expected a numeric value for {what} {c.ident.text!r}, found {shown!r}.")
    value: float
    if _INTEGER.fullmatch(tok.text):
        value = int(tok.text)
    elif integer_only:
        # MLflow's SQL store rejects fractional times for experiments (its file store would not).
        raise SearchError(f"Invalid value for {what} {c.ident.text!r}: {tok.text!r} is not an integer.")
    else:
        value = float(tok.text)
    compare = _NUMERIC_OPS[c.op]
    return lambda x: compare(x, value)


def _string_value(c: _Clause, what: str) -> str:
    tok = c.value
    if not isinstance(tok, _Tok) or tok.kind != "string" or tok.quote == "`":
        shown = tok.text if isinstance(tok, _Tok) else "a list"
        raise SearchError(
            f"Expected a quoted string value (e.g. 'my-value') for {what} {c.ident.text!r}, found {shown!r}."
        )
    return tok.text


def _like(pattern: str, flags: int) -> re.Pattern[str]:
    # SQL LIKE: % is any run of characters (newlines included), _ exactly one; nothing escapes them.
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, flags | re.DOTALL)


def _string_test(c: _Clause, what: str, allowed: frozenset[str], *, lists: bool = False) -> Callable[[str], bool]:
    if c.op not in allowed:
        raise _bad_op(c, what, allowed)
    if c.op in _LIST_OPS:
        if not lists or not isinstance(c.value, tuple):
            raise SearchError(f"{what.capitalize()} {c.ident.text!r} does not support IN / NOT IN lists.")
        values = frozenset(tok.text for tok in c.value)
        return (lambda s: s in values) if c.op == "IN" else (lambda s: s not in values)
    value = _string_value(c, what)
    if c.op == "=":
        return lambda s: s == value
    if c.op == "!=":
        return lambda s: s != value
    regex = _like(value, re.IGNORECASE if c.op == "ILIKE" else 0)
    return lambda s: regex.fullmatch(s) is not None


def _present(test: Callable[[Any], bool], get: Callable[[T], Any]) -> Callable[[T], bool]:
    # A missing value never matches, "!=" included: the SQL store inner-joins on the key.
    return lambda item: (value := get(item)) is not None and test(value)


def _null_test(c: _Clause, get: Callable[[T], Any]) -> Callable[[T], bool]:
    null = c.op == "IS NULL"
    return lambda item: (get(item) is None) == null


def _conjunction(preds: Sequence[Callable[[T], bool]]) -> Callable[[T], bool]:
    if len(preds) == 1:
        return preds[0]
    return lambda item: all(p(item) for p in preds)


# --- runs ------------------------------------------------------------------------------------------

_RUN_ENTITIES = {
    **dict.fromkeys(("metric", "metrics"), "metric"),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), "param"),
    **dict.fromkeys(("tag", "tags"), "tag"),
    **dict.fromkeys(("attribute", "attributes", "attr", "run"), "attribute"),
    **dict.fromkeys(("dataset", "datasets"), "dataset"),
}
_RUN_ATTRS: dict[str, type] = {"start_time": int, "end_time": int}
_RUN_ATTRS.update(dict.fromkeys(("run_id", "run_name", "user_id", "status", "artifact_uri"), str))
_CREATED = {"created": "start_time", "Created": "start_time"}
# MLflow accepts the "Run name" spellings in filters but not in order_by.
_FILTER_ALIASES = {**_CREATED, **dict.fromkeys(("run name", "Run name", "Run Name"), "run_name")}
_DATASET_KEYS = frozenset({"name", "digest", "context"})
_NO_INFO = m.RunInfo()


def _run_field(ident: _Ident, aliases: dict[str, str]) -> tuple[str, str]:
    entity = "attribute" if ident.entity is None else _RUN_ENTITIES.get(ident.entity)
    key = ident.key
    if entity is None:
        raise SearchError(
            f"Invalid entity type {ident.entity!r} in {ident.text!r}; use metrics., params., tags., "
            "attributes. or datasets."
        )
    if entity == "attribute":
        key = aliases.get(key, key)
        if key not in _RUN_ATTRS:
            raise SearchError(
                f"Invalid attribute key {key!r} specified; valid keys are {', '.join(sorted(_RUN_ATTRS))}."
            )
    elif entity == "dataset" and key not in _DATASET_KEYS:
        raise SearchError(f"Invalid dataset key {key!r}; valid keys are context, digest, name.")
    return entity, key


def _lookup(entries: Iterable[m.Metric | m.Param | m.RunTag | m.ExperimentTag], key: str) -> Any:
    # Runs hold few keys each: a scan is cheaper than building a dict per run per search.
    for entry in entries:
        if entry.key == key:
            return entry.value
    return None


def _run_getter(entity: str, key: str) -> Callable[[m.Run], Any]:
    if entity in ("metric", "param", "tag"):
        field = f"{entity}s"
        return lambda run: None if run.data is None else _lookup(getattr(run.data, field), key)
    if key == "run_name":
        # MLflow's SQL store reads the name from the mlflow.runName tag; runs keep both in step.
        tag = _run_getter("tag", "mlflow.runName")
        return lambda run: name if (name := (run.info or _NO_INFO).run_name) is not None else tag(run)
    return lambda run: getattr(run.info or _NO_INFO, key)


def _dataset_values(run: m.Run, key: str) -> Iterator[str | None]:
    for used in run.inputs.dataset_inputs if run.inputs is not None else ():
        if key == "context":
            yield from (tag.value for tag in used.tags if tag.key == "mlflow.data.context")
        elif used.dataset is not None:
            yield used.dataset.name if key == "name" else used.dataset.digest


def _run_clause(c: _Clause) -> Callable[[m.Run], bool]:
    entity, key = _run_field(c.ident, _FILTER_ALIASES)
    if entity == "dataset":
        test = _string_test(c, "dataset key", _STRING_OPS | _LIST_OPS, lists=True)
        # A run matches when any one of its datasets does.
        return lambda run: any(v is not None and test(v) for v in _dataset_values(run, key))
    get = _run_getter(entity, key)
    if entity == "metric" or (entity == "attribute" and _RUN_ATTRS[key] is int):
        return _present(_numeric_test(c, entity), get)
    if entity == "attribute":
        return _present(_string_test(c, entity, _STRING_OPS | _LIST_OPS, lists=key == "run_id"), get)
    if c.op in _NULL_OPS:
        return _null_test(c, get)
    return _present(_string_test(c, entity, _STRING_OPS | _NULL_OPS), get)


# --- experiments -----------------------------------------------------------------------------------

_EXPERIMENT_ATTRS = {"name": str, "experiment_id": str, "creation_time": int, "last_update_time": int}


def _experiment_field(ident: _Ident) -> str:
    if ident.entity in ("tag", "tags"):
        return "tag"
    if ident.entity not in (None, "attribute"):
        raise SearchError(
            f"Invalid entity type {ident.entity!r} in {ident.text!r}; valid entity types are attribute, tag, tags."
        )
    if ident.key not in _EXPERIMENT_ATTRS:
        valid = ", ".join(sorted(_EXPERIMENT_ATTRS))
        raise SearchError(f"Invalid attribute key {ident.key!r} specified; valid keys are {valid}.")
    return "attribute"


def _experiment_tag(key: str) -> Callable[[m.Experiment], Any]:
    return lambda e: _lookup(e.tags, key)


def _experiment_id_test(c: _Clause) -> Callable[[int], bool]:
    # The SQL store keeps experiment IDs as integers: it compares them as numbers and only by
    # equality or membership.
    allowed = frozenset({"=", "!="}) | _LIST_OPS
    if c.op not in allowed:
        raise _bad_op(c, "attribute", allowed)
    raw = [tok.text for tok in c.value] if isinstance(c.value, tuple) else [_string_value(c, "attribute")]
    try:
        ids = frozenset(int(text) for text in raw)
    except ValueError:
        raise SearchError(f"Invalid experiment ID in {c.ident.text!r} filter: IDs must be integers.") from None
    return (lambda x: x in ids) if c.op in ("=", "IN") else (lambda x: x not in ids)


def _experiment_clause(c: _Clause) -> Callable[[m.Experiment], bool]:
    key = c.ident.key
    if _experiment_field(c.ident) == "tag":
        tag = _experiment_tag(key)
        if c.op in _NULL_OPS:
            return _null_test(c, tag)
        return _present(_string_test(c, "tag", _STRING_OPS | _NULL_OPS), tag)
    if key == "experiment_id":
        return _present(_experiment_id_test(c), lambda e: int(i) if (i := e.experiment_id or "").isdigit() else None)
    if key == "name":
        return _present(_string_test(c, "attribute", _STRING_OPS), lambda e: e.name)
    return _present(_numeric_test(c, "attribute", integer_only=True), lambda e: getattr(e, key))


def _experiment_id_key(e: m.Experiment) -> str:
    # The SQL store orders IDs as integers. Prefixing the length orders digit strings numerically
    # while staying a plain string, so any ID (digits or not) fits a page token.
    experiment_id = e.experiment_id or ""
    return f"{len(experiment_id):06d}:{experiment_id}"


# --- ordering and plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Order(Generic[T]):
    field: str  # canonical "entity.key", to spot duplicates
    get: Callable[[T], Any]
    descending: bool
    value_type: type  # float, int or str: what part() holds, and what a page token may hold

    def part(self, item: T) -> _KeyPart:
        value = self.get(item)
        if value is None:
            return (2, self.value_type())  # the placeholder never decides: the rank already has
        if self.value_type is float:
            value = float(value)
            if math.isnan(value):
                return (1, 0.0)  # NaN after numbers and before missing values, as in MLflow's SQL store
        return (0, value)


@dataclass(frozen=True)
class _Plan(Generic[T]):
    matches: Callable[[T], bool] | None
    orders: tuple[_Order[T], ...]
    query: str  # fingerprint of filter and order_by, carried by page tokens


def _fingerprint(kind: str, filter_string: str, order_by: tuple[str, ...]) -> str:
    query = json.dumps([kind, filter_string, order_by], separators=(",", ":"))
    return hashlib.sha256(query.encode()).hexdigest()[:16]


@lru_cache(maxsize=256)
def _run_plan(filter_string: str, order_by: tuple[str, ...]) -> _Plan[m.Run]:
    clauses = _Parser(filter_string).filter() if filter_string.strip() else []
    orders: list[_Order[m.Run]] = []
    for text in order_by:
        ident, descending = _Parser(text).order_by()
        entity, key = _run_field(ident, _CREATED)
        if entity == "dataset":
            raise SearchError(f"Invalid order_by entity type 'dataset' in {text!r}; datasets cannot be ordered by.")
        value_type = float if entity == "metric" else _RUN_ATTRS[key] if entity == "attribute" else str
        if any(o.field == f"{entity}.{key}" for o in orders):
            raise SearchError(f"`order_by` contains duplicate fields: {list(order_by)}")
        orders.append(_Order(f"{entity}.{key}", _run_getter(entity, key), descending, value_type))
    # MLflow's default and tie-break: newest first, then run ID ascending, which makes keys unique.
    if not any(o.field == "attribute.start_time" for o in orders):
        orders.append(_Order("attribute.start_time", _run_getter("attribute", "start_time"), True, int))
    orders.append(_Order("run_id", lambda run: (run.info or _NO_INFO).run_id or "", False, str))
    matches = _conjunction([_run_clause(c) for c in clauses]) if clauses else None
    return _Plan(matches, tuple(orders), _fingerprint("runs", filter_string, order_by))


@lru_cache(maxsize=256)
def _experiment_plan(filter_string: str, order_by: tuple[str, ...]) -> _Plan[m.Experiment]:
    clauses = _Parser(filter_string).filter() if filter_string.strip() else []
    orders: list[_Order[m.Experiment]] = []
    for text in order_by or ("creation_time DESC", "experiment_id ASC"):  # MLflow's default
        ident, descending = _Parser(text).order_by()
        if _experiment_field(ident) == "tag":
            raise SearchError(f"Invalid order_by entity: tag in {text!r}; experiments order by attributes only.")
        key = ident.key
        get = _experiment_id_key if key == "experiment_id" else _attr_getter(key)
        orders.append(_Order(key, get, descending, _EXPERIMENT_ATTRS[key]))
    if not any(o.field == "experiment_id" for o in orders):
        orders.append(_Order("experiment_id", _experiment_id_key, True, str))  # the SQL store's tie-break
    matches = _conjunction([_experiment_clause(c) for c in clauses]) if clauses else None
    return _Plan(matches, tuple(orders), _fingerprint("experiments", filter_string, order_by))


def _attr_getter(key: str) -> Callable[[Any], Any]:
    return lambda item: getattr(item, key)


# --- paging ----------------------------------------------------------------------------------------


def _encode_token(query: str, key: _Key) -> str:
    raw = json.dumps({"q": query, "after": [list(part) for part in key]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii")


def _token_document(token: str) -> Any:
    """The JSON inside a token, ours (URL-safe base64) or MLflow's (standard), with MLflow's messages."""
    try:  # like MLflow, not validating: characters outside the alphabet are dropped
        raw = base64.b64decode(token.translate(_URLSAFE).encode("ascii", "ignore"))
    except binascii.Error:
        raise SearchError("Invalid page token, could not base64-decode") from None
    try:
        return json.loads(raw)
    except ValueError:  # JSON and Unicode errors alike
        raise SearchError(f"Invalid page token, decoded value={raw!r}") from None


_URLSAFE = str.maketrans("-_", "+/")


def _mlflow_offset(doc: Any) -> int:
    """The offset of an MLflow token, refused where MLflow refuses it (an offset of 0 included)."""
    offset = doc.get("offset") if isinstance(doc, dict) else None  # MLflow: a 500 for non-objects
    if not offset:
        raise SearchError(f"Invalid page token, parsed value={doc}")
    try:
        return max(int(offset), 0)  # "3" and 2.5 are read as int() reads them; SQL treats negatives as 0
    except (ValueError, TypeError):
        raise SearchError(f"Invalid page token, not stringable {offset}") from None


def offset_from_token(token: str) -> int:
    """The offset an MLflow page token (``base64({"offset": N})``) holds, refused as MLflow refuses it."""
    return _mlflow_offset(_token_document(token))


def _decode_token(doc: Any, token: str, plan: _Plan[T]) -> _Key:
    try:
        query, after = doc["q"], [tuple(part) for part in doc["after"]]
    except (ValueError, TypeError, KeyError) as err:
        raise SearchError(f"Invalid page token {token!r}: it was not issued by this search.") from err
    if query != plan.query:
        raise SearchError("Invalid page token: it was issued for a different filter or order_by.")
    types = [(float, int) if o.value_type is float else (o.value_type,) for o in plan.orders]
    if len(after) != len(types) or not all(
        len(part) == 2 and type(part[0]) is int and type(part[1]) in allowed
        for part, allowed in zip(after, types, strict=True)
    ):
        raise SearchError(f"Invalid page token {token!r}: malformed sort key.")
    return tuple(after)  # ints in a float clause compare like the floats they stand for


def _is_after(key: _Key, mark: _Key, orders: Sequence[_Order[T]]) -> bool:
    for (rank, value), (mark_rank, mark_value), order in zip(key, mark, orders, strict=True):
        if rank != mark_rank:
            return bool(rank > mark_rank)
        if value != mark_value:
            return bool(value < mark_value if order.descending else value > mark_value)
    return False


def _cell(i: int, j: int | None = None) -> Callable[[tuple[_Key, Any]], Any]:
    return (lambda row: row[0][i]) if j is None else (lambda row: row[0][i][j])


def _search(items: Iterable[T], plan: _Plan[T], max_results: int, page_token: str | None) -> tuple[list[T], str | None]:
    orders = plan.orders
    rows = [(tuple(o.part(item) for o in orders), item) for item in items if plan.matches is None or plan.matches(item)]
    # Stable sorts from the least significant clause up; a descending clause sorts its values in
    # reverse, then its ranks forward, so missing values stay last in either direction.
    for i in reversed(range(len(orders))):
        if orders[i].descending:
            rows.sort(key=_cell(i, 1), reverse=True)
            rows.sort(key=_cell(i, 0))
        else:
            rows.sort(key=_cell(i))
    start, by_offset = 0, False
    if page_token:
        doc = _token_document(page_token)
        if not (isinstance(doc, dict) and "q" in doc):
            start, by_offset = _mlflow_offset(doc), True
        else:
            mark, stop = _decode_token(doc, page_token, plan), len(rows)
            while start < stop:  # binary search: the first row strictly after the mark
                mid = (start + stop) // 2
                if _is_after(rows[mid][0], mark, orders):
                    stop = mid
                else:
                    start = mid + 1
    page = rows[start : start + max_results]
    # Only hand out a token when more rows follow: a last page that is exactly full carries none.
    token = None
    if page and start + max_results < len(rows):
        if by_offset:
            token = base64.b64encode(json.dumps({"offset": start + max_results}).encode()).decode("ascii")
        else:
            token = _encode_token(plan.query, page[-1][0])
    return [item for _, item in page], token


# --- public API ------------------------------------------------------------------------------------


def search_runs(
    runs: Iterable[m.Run],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int,
    page_token: str | None,
) -> tuple[list[m.Run], str | None]:
    """One page of ``runs`` matching ``filter_string`` in ``order_by`` order, and the next page's token.

    Lifecycle (run_view_type) filtering and ``max_results`` bounds are the caller's.
    """
    return _search(runs, _run_plan(filter_string or "", tuple(order_by or ())), max_results, page_token)


def search_experiments(
    experiments: Iterable[m.Experiment],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int,
    page_token: str | None,
) -> tuple[list[m.Experiment], str | None]:
    """One page of ``experiments`` matching ``filter_string`` in ``order_by`` order, and the next token.

    Lifecycle (view_type) filtering and ``max_results`` bounds are the caller's.
    """
    plan = _experiment_plan(filter_string or "", tuple(order_by or ()))
    return _search(experiments, plan, max_results, page_token)
