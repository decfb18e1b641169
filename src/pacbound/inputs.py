"""A user's inputs: files read into plain data, and tables of values checked against the
field types of the dataclass they configure. Reading never writes. A leaf: plain Python.

Every failure is one ``ValueError``. A file that cannot be read is named with what it is for,
``<what> = <path>: <what is wrong>``: no such file, not a file, unreadable, not UTF-8 text,
not valid TOML or not JSON (with the line and column the decoder reports). A value of the
wrong type is a ``ConfigError`` naming the table, the key, the value as the file writes it
and what was expected, e.g. ``[grid] seeds = 3: expected a non-empty list of distinct
integers ≥ 0``; its table and key let the reader of a file add the line (``toml_line``).

The types a field may have: ``bool``, ``int`` (never a bool, never a float: 3000.7 steps is
refused, not truncated; magnitude below 2^31, as JAX's keys and sizes are 32-bit and wrap
silently), ``float`` (an int or a float, never a bool, finite), ``str``, ``X | None`` (None
cannot be written in TOML: as X), ``tuple[X, ...]`` (a non-empty list) and ``tuple[X, X]``
(a list of that length). A field's ``metadata`` may add ``minimum`` (of each number) and
``distinct`` (a list without repeats); ``limits`` gives them to the fields of a dataclass
whose module is left as it is (its source keys stored results). Ranges that depend on other
fields stay with the dataclass's ``__post_init__``.

A name that becomes part of a file name (an experiment's ``<name>_report.md``) is a plain
file stem (``NAME``, ``check_name``): no folder, no leading dot, nothing to escape.
"""

from __future__ import annotations

import functools
import json
import math
import re
import tomllib
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path

INT_LIMIT = 2**31
#: A file stem: letters, digits, '-', '_' and '.', beginning with a letter or digit (no
#: folder, no hidden file, no empty name).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_EXPECTED = "letters, digits, '-', '_' and '.' only, beginning with a letter or digit"


# --- files -----------------------------------------------------------------------------------


def read_text(path: str | Path, what: str) -> str:
    """The text of ``path`` (UTF-8); ValueError naming ``what`` and the path when it is missing,
    a directory, unreadable or not UTF-8."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{what} = {path}: no such file")
    if not path.is_file():
        raise ValueError(f"{what} = {path}: not a file")
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{what} = {path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} = {path}: not UTF-8 text (byte {error.start})") from None


def parse_toml(text: str, path: str | Path, what: str) -> dict:
    """The TOML document ``text`` (read from ``path``); the decoder's error names the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{what} = {path}: not valid TOML: {error}") from None
    except RecursionError:
        raise ValueError(f"{what} = {path}: TOML nested too deeply") from None


def read_toml(path: str | Path, what: str) -> dict:
    """The TOML document of ``path``, or a one-line ValueError (see the module)."""
    return parse_toml(read_text(path, what), path, what)


def read_json(path: str | Path, what: str):
    """The JSON document of ``path``, or a one-line ValueError (see the module). ``NaN`` and
    ``Infinity`` are read as ``json`` writes them."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} = {path}: not JSON: {error}") from None
    except RecursionError:
        raise ValueError(f"{what} = {path}: JSON nested too deeply") from None


_HEADER = re.compile(r"""\[\[?\s*([\w.\-"' ]+?)\s*\]\]?\s*(#.*)?$""")


def toml_line(text: str, table: str | None, key: str | None = None) -> int | None:
    """The line number (from 1) where ``key`` of ``[table]`` is set in the TOML ``text``
    (``table`` None: a top-level key; ``key`` None: the table's header); None if not found
    (a dotted key, or a key inside an inline table, is not looked for)."""
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = _HEADER.match(stripped)
        if header:
            current = header.group(1).strip("\"'")
            if key is None and current == table:
                return number
            continue
        if current == table and key is not None:
            if re.match(rf"""["']?{re.escape(key)}["']?\s*=""", stripped):
                return number
    return None


# --- values ----------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A bad value of a config; ``table`` and ``key`` locate it in its file (either may be
    None: a top-level key, or the table as a whole)."""

    def __init__(self, message: str, table: str | None = None, key: str | None = None):
        super().__init__(message)
        self.table, self.key = table, key


def toml_value(value, limit: int = 60) -> str:
    """``value`` as TOML writes it (what the file says), cut to about ``limit`` characters."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(toml_value(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {toml_value(v, limit)}" for k, v in value.items())
        text = "{ " + inner + " }" if inner else "{}"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(name) -> str:
    """A TOML key: bare if it can be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", str(name)) else json.dumps(str(name))


_NAMES = {
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a finite number", "finite numbers"),
    str: ("a string", "strings"),
}


def _plain(hint):
    """``X`` of ``X | None``; any other hint unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def _items(hint) -> tuple[type, int | None] | None:
    """(element type, length or None for any non-empty length) of a tuple hint, else None."""
    if typing.get_origin(hint) is not tuple:
        return None
    args = typing.get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        return args[0], None
    return args[0], len(args)


def expected(hint, minimum=None, distinct: bool = False) -> str:
    """What a value of ``hint`` is, in words: "a non-empty list of distinct integers ≥ 0"."""
    hint, bound = _plain(hint), "" if minimum is None else f" ≥ {minimum}"
    items = _items(hint)
    if items is None:
        return _NAMES.get(hint, (f"a {getattr(hint, '__name__', hint)}",))[0] + bound
    kind, length = items
    many = f"{'distinct ' if distinct else ''}{_NAMES[kind][1]}{bound}"
    return f"a non-empty list of {many}" if length is None else f"a list of {length} {many}"


def _is(value, kind) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        try:
            return math.isfinite(value)
        except OverflowError:  # an int beyond any float
            return False
    if kind is str:
        return isinstance(value, str)
    return True  # other types (tables, objects) have their own checks


def check_value(table, key: str, value, hint, minimum=None, distinct: bool = False) -> None:
    """ConfigError unless ``value`` (of ``key`` in ``[table]``; None: top level) is a value of
    ``hint``, every number ≥ ``minimum`` and, if ``distinct``, without repeats."""
    hint, items = _plain(hint), _items(_plain(hint))
    where = f"[{table}] {key} = {toml_value(value)}" if table else f"{key} = {toml_value(value)}"
    if items is None:
        kind, values = hint, [value]
        ok = _is(value, kind)
    else:
        kind, length = items
        values = value if isinstance(value, list | tuple) else []
        ok = isinstance(value, list | tuple) and all(_is(v, kind) for v in values)
        ok = ok and (len(values) == length if length else len(values) > 0)
        if distinct and ok:
            ok = len(set(values)) == len(values)
    if not ok:
        raise ConfigError(f"{where}: expected {expected(hint, minimum, distinct)}", table, key)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if kind is int and any(abs(v) >= INT_LIMIT for v in numbers):
        raise ConfigError(f"{where} is out of range: allowed integers below 2^31", table, key)
    if minimum is not None and any(v < minimum for v in numbers):
        allowed = f"{_NAMES[kind][1]} ≥ {minimum}" if items else f"[{minimum}, inf)"
        raise ConfigError(f"{where} is out of range: allowed {allowed}", table, key)


def check_choices(table: str, key: str, values, hint, minimum=None) -> None:
    """ConfigError unless ``values`` (of ``key`` in ``[table]``, one experiment per value) is a
    non-empty list of distinct values of ``hint``, every number ≥ ``minimum``."""
    many = tuple[_plain(hint), ...]
    try:
        check_value(table, key, values, many, distinct=True)
    except ConfigError:
        what = f"{expected(hint, minimum)}, or {expected(many, minimum, distinct=True)}"
        message = f"[{table}] {key} = {toml_value(values)}: expected {what}"
        raise ConfigError(message, table, key) from None
    check_value(table, key, values, many, minimum, distinct=True)  # the list, out of range


def check_name(value, table: str | None = None, key: str = "name", label: str | None = None):
    """ConfigError unless ``value`` (of ``key`` in ``[table]``; None: top level) is a string
    that is a plain file stem (``NAME``); ``label`` names it in the message instead."""
    check_value(table, key, value, str)
    if NAME.fullmatch(value) is None:
        label = label or (f"[{table}] {key}" if table else key)
        raise ConfigError(f"{label} = {value!r}: expected {NAME_EXPECTED}", table, key)


def check_document(raw: dict, tables, strings=()) -> None:
    """ConfigError unless the top level of a document holds only the ``tables`` (each a
    table) and the keys ``strings`` (each a string)."""
    unknown = sorted(set(raw) - {*tables, *strings})
    if unknown:
        where = (unknown[0], None) if isinstance(raw[unknown[0]], dict) else (None, unknown[0])
        allowed = sorted({*tables, *strings})
        raise ConfigError(f"config has unknown sections {unknown}: allowed {allowed}", *where)
    for table in tables:
        if table in raw and not isinstance(raw[table], dict):
            value = toml_value(raw[table])
            raise ConfigError(f"{table} = {value}: expected a table [{table}]", None, table)
    for key in strings:
        if key in raw:
            check_value(None, key, raw[key], str)


def check_ranges(table: str, key: str, value, example: str) -> dict:
    """``value`` of ``key`` in ``[table]``: a non-empty table of name = [low, high] (integers),
    or a ConfigError showing ``example``."""
    good = isinstance(value, dict) and value
    for bounds in value.values() if good else ():
        try:
            check_value(table, key, bounds, tuple[int, int])
        except ConfigError:
            good = False
    if not good:
        shown = f"lacks {key}" if value is None else f"{key} = {toml_value(value)}"
        message = f"[{table}] {shown}: expected a table of name = [low, high], e.g. {example}"
        raise ConfigError(message, table, key if value is not None else None)
    return value


@functools.cache
def field_types(cls) -> dict:
    """{field name: its type} of a dataclass (annotations resolved)."""
    return typing.get_type_hints(cls)


def check_table(cls, table: dict, where: str, fixed=(), also=(), limits=None) -> None:
    """ConfigError unless ``table`` ([where] of a file) sets only fields of the dataclass
    ``cls`` (but not those in ``fixed``), each a value of its type (``check_value``), and
    every field without a default. ``also``: keys of [where] read elsewhere (named among the
    allowed ones when a key is unknown); ``limits``: {field: its ``minimum``/``distinct``},
    beside (and over) the fields' own metadata."""
    known = {f.name for f in fields(cls)} - set(fixed)
    unknown = sorted(set(table) - known)
    if unknown:
        allowed = sorted(known | set(also))
        message = f"[{where}] has unknown keys {unknown}: allowed {allowed}"
        raise ConfigError(message, where, unknown[0])
    hints = field_types(cls)
    for f in fields(cls):
        if f.name in fixed:
            continue
        options = {k: f.metadata[k] for k in ("minimum", "distinct") if k in f.metadata}
        options |= (limits or {}).get(f.name, {})
        if f.name in table:
            check_value(where, f.name, table[f.name], hints[f.name], **options)
        elif f.default is MISSING and f.default_factory is MISSING:
            what = expected(hints[f.name], **options)
            raise ConfigError(f"[{where}] lacks {f.name}: expected {what}", where)


def build(cls, table: dict, where: str, also=(), limits=None, **fixed):
    """The dataclass ``cls`` of the TOML table ``table`` ([where] of a file) and the
    ``fixed`` fields, its values checked first (``check_table``, with ``also`` and
    ``limits``), lists made tuples; an error of ``cls`` itself is a ConfigError of [where]
    (and of the key it begins with)."""
    check_table(cls, table, where, fixed, also, limits)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    try:
        return cls(**values, **fixed)
    except (TypeError, ValueError, ArithmeticError) as error:  # a check dividing by a value
        named = re.match(r"(\w+) = ", str(error))
        key = named.group(1) if named and named.group(1) in table else None
        raise ConfigError(f"[{where}] {error}", where, key) from None


def in_file(path: str | Path, text: str, error: ValueError) -> ValueError:
    """``error`` of the config read from ``path`` (whose text is ``text``), prefixed by the
    file and, for a ConfigError that the text locates, the line: "<path>, line <n>: …"."""
    line = None
    if isinstance(error, ConfigError) and (error.table or error.key):
        line = toml_line(text, error.table, error.key)
    message = str(error).replace("\n", "\\n")  # one line, whatever names the file holds
    return ValueError(f"{path}, line {line}: {message}" if line else f"{path}: {message}")
