"""(Baseline copy) A few functions of the CEL strings extension
(cel-go `ext.Strings`, also in Kubernetes CEL).

celpy 0.5 implements core CEL only; these are the commonly used string helpers, with cel-go's
meaning, so rules written for Kubernetes validations read the same here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError


def _no_overload(name: str, *args: Any) -> CELEvalError:
    kinds = ", ".join(type(arg).__name__ for arg in args)
    return CELEvalError(f"found no matching overload for '{name}' applied to ({kinds})", TypeError, None)


def _strings(name: str, *args: Any) -> CELEvalError | None:
    if all(isinstance(arg, str) for arg in args):
        return None
    return _no_overload(name, *args)


def _ascii_case(text: str, upper: bool) -> str:
    return "".join((c.upper() if upper else c.lower()) if c.isascii() else c for c in text)


def lower_ascii(text: Any) -> Any:
    error = _strings("lowerAscii", text)
    return error if error is not None else celtypes.StringType(_ascii_case(text, upper=False))


def upper_ascii(text: Any) -> Any:
    error = _strings("upperAscii", text)
    return error if error is not None else celtypes.StringType(_ascii_case(text, upper=True))


def trim(text: Any) -> Any:
    error = _strings("trim", text)
    return error if error is not None else celtypes.StringType(text.strip())


def split(text: Any, separator: Any) -> Any:
    error = _strings("split", text, separator)
    if error is not None:
        return error
    parts = list(text) if separator == "" else text.split(separator)
    return celtypes.ListType([celtypes.StringType(part) for part in parts])


def join(items: Any, separator: Any = "") -> Any:
    if not isinstance(items, list) or not isinstance(separator, str):
        return _no_overload("join", items, separator)
    if not all(isinstance(item, str) for item in items):
        return _no_overload("join", *items)
    return celtypes.StringType(separator.join(items))


def replace(text: Any, old: Any, new: Any) -> Any:
    error = _strings("replace", text, old, new)
    return error if error is not None else celtypes.StringType(text.replace(old, new))


def index_of(text: Any, needle: Any) -> Any:
    error = _strings("indexOf", text, needle)
    return error if error is not None else celtypes.IntType(text.find(needle))


def substring(text: Any, start: Any, end: Any = None) -> Any:
    stop = len(text) if end is None and isinstance(text, str) else end
    if not isinstance(text, str) or not isinstance(start, int) or not isinstance(stop, int):
        return _no_overload("substring", text, start, stop)
    if not 0 <= start <= stop <= len(text):
        message = f"substring({start}, {stop}) out of range for length {len(text)}"
        return CELEvalError(message, IndexError, None)
    return celtypes.StringType(text[start:stop])


STRING_EXTENSIONS: dict[str, Callable[..., Any]] = {
    "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii,
    "trim": trim,
    "split": split,
    "join": join,
    "replace": replace,
    "indexOf": index_of,
    "substring": substring,
}
