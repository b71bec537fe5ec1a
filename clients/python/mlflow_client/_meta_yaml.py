"""The flat ``meta.yaml`` files of MLflow's ``mlruns`` layout, read and written without PyYAML.

MLflow writes them with PyYAML (``key: value`` lines, sorted keys) and reads them with ``yaml.safe_load``.
We only need their top-level scalars, so the reader understands plain, single- and double-quoted scalars
(long ones folded over several lines, as PyYAML emits them) and skips nested blocks (MLflow's copy of
the experiment tags, which the ``tags/`` folder holds anyway). The writer quotes every string that
could read back as anything else, in double quotes with escapes any YAML reader understands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["dumps", "loads"]

Scalar = str | int | float | bool | None | list[object] | dict[str, object]

_KEY_LINE = re.compile(r"""('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|(?:[^\s'"#\-?:]|[-?:]\S).*?):(?:[ \t]+(.*))?$""")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?$")
_PLAIN_SAFE = re.compile(r"[A-Za-z/][\w./-]*(?::[\w./-]+)*(?::/+[\w./-]*)?")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null"})
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}
_ESCAPES |= {"e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0"}
_ESCAPES |= {"L": "\u2028", "P": "\u2029"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


# --- writing ---------------------------------------------------------------------------------------


def _quote(text: str) -> str:
    if _PLAIN_SAFE.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _scalar(value: object) -> str:  # noqa: PLR0911 - one return per YAML type
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "".join(f"\n  {_quote(str(k))}: {_scalar(value[k])}" for k in sorted(value))
    raise TypeError(f"meta.yaml values are scalars, got {type(value).__name__}")


def dumps(data: Mapping[str, object]) -> str:
    """``data`` as YAML, one ``key: value`` line per item, keys sorted as PyYAML sorts them."""
    lines = (f"{_quote(key)}: {_scalar(data[key])}" for key in sorted(data))
    return "".join(line.replace(": \n", ":\n", 1) + "\n" for line in lines)


# --- reading ---------------------------------------------------------------------------------------


def _fold(lines: list[str], escaped_breaks: bool = False) -> str:
    """Join a scalar's lines as YAML folds them: a break becomes a space, each blank line a newline."""
    out = lines[0]
    blanks = 0
    for raw in lines[1:]:
        line = raw.strip(" \t")
        if not line:
            blanks += 1
            continue
        if escaped_breaks and _ends_in_escape(out):
            out = out[:-1] + "\n" * blanks  # an escaped line break joins the lines with nothing
        else:
            out = out.rstrip(" \t") + ("\n" * blanks if blanks else " ")
        out += line
        blanks = 0
    return out


def _ends_in_escape(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = body[i + 1] if i + 1 < len(body) else ""
        if code in _HEX_ESCAPES:
            width = _HEX_ESCAPES[code]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        elif code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        else:
            raise ValueError(f"bad escape \\{code} in a double-quoted scalar")
    return "".join(out)


def _key(text: str) -> str:
    value = _value([text])
    return text if value is None or isinstance(value, dict | list) else str(value)


def _resolve_plain(text: str) -> Scalar:  # noqa: PLR0911 - one return per YAML type
    lowered = text.lower()
    if text in ("", "~") or lowered == "null":
        return None
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    if _FLOAT.fullmatch(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    if lowered in (".nan", ".inf", "+.inf", "-.inf"):
        return float(lowered.replace(".", ""))
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return text


def _value(lines: list[str]) -> Scalar:
    first = lines[0]
    if first.startswith("'"):
        text = _fold([first[1:], *lines[1:]]).rstrip()
        if not text.endswith("'"):
            raise ValueError("unterminated single-quoted scalar")
        return text[:-1].replace("''", "'")
    if first.startswith('"'):
        text = _fold([first[1:], *lines[1:]], escaped_breaks=True).rstrip()
        if not text.endswith('"') or _ends_in_escape(text[:-1]):
            raise ValueError("unterminated double-quoted scalar")
        return _unescape(text[:-1])
    if not first and len(lines) > 1:
        block = [line for line in lines[1:] if line.strip()]
        if block and block[0].lstrip().startswith("- "):
            return None  # a block sequence: MLflow writes none we read
        indent = len(block[0]) - len(block[0].lstrip(" ")) if block else 0
        return dict(loads("\n".join(line[indent:] for line in lines[1:])))  # one level of nesting
    return _resolve_plain(_fold(lines).strip())


def loads(text: str) -> dict[str, Scalar]:
    """The top-level items of a ``meta.yaml`` document: scalars, and mappings of scalars one level deep."""
    if any(ch in text for ch in _UNICODE_BREAKS):
        # PyYAML folds these as line breaks; leave such rare documents to PyYAML when it is there.
        try:
            import yaml
        except ImportError:
            pass
        else:
            loaded = yaml.safe_load(text)
            if isinstance(loaded, dict):
                return {str(k): v for k, v in loaded.items()}
    result: dict[str, Scalar] = {}
    key: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if key is not None:
            result[key] = _value(lines)

    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw.startswith("#") or raw in ("---", "..."):
            continue
        match = _KEY_LINE.match(raw) if raw[:1] not in ("", " ", "\t") and raw[:2] != "- " else None
        if match:
            flush()
            key, lines = _key(match.group(1)), [match.group(2) or ""]
        elif key is not None:
            lines.append(raw)
        elif raw.strip():
            raise ValueError(f"not a flat YAML mapping: {raw!r}")
    flush()
    return result
