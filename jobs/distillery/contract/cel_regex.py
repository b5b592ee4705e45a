"""`matches` with compiled patterns kept: the same RE2 search, without recompiling every call.

cel-cpp compiles a `matches` pattern on every evaluation unless its runtime is built with regex
precompilation, which cel-expr-python does not expose; an RE2 pattern with Unicode classes
(`\\s`, `\\S`) costs ~50 us to compile, more than the rest of a rule. Rules are therefore checked as
written and run with every `matches(` call renamed to `__re2_matches__(`, a function with the same
overloads backed by google-re2 (the RE2 library cel-cpp uses: unanchored search over UTF-8) and a
cache of compiled patterns. An invalid pattern is an evaluation error naming the RE2 problem.
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2
from cel_expr_python import cel

CACHED_MATCHES = "__re2_matches__"
_PREFIXES = frozenset({"r", "b", "rb", "br"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re2._Regexp | str:
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        detail = error.args[0] if error.args else error
        detail = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        return f"invalid regular expression: {detail}"


def re2_matches(text: str, pattern: str) -> bool:
    compiled = _compiled(pattern)
    if isinstance(compiled, str):
        raise ValueError(compiled)
    # UTF-8 bytes: the same match (the pattern is UTF-8 RE2), without decoding the match's offsets
    return compiled.search(text.encode("utf-8", "surrogatepass")) is not None


def regex_extension() -> cel.CelExtension:
    """`string.__re2_matches__(string)` and `__re2_matches__(string, string)`, as `matches` is typed."""
    string, boolean = cel.Type.STRING, cel.Type.BOOL
    overloads = [
        cel.Overload("re2_matches_member", boolean, [string, string], is_member=True, impl=re2_matches),
        cel.Overload("re2_matches_global", boolean, [string, string], is_member=False, impl=re2_matches),
    ]
    return cel.CelExtension("distillery.re2", [cel.FunctionDecl(CACHED_MATCHES, overloads)])


def with_cached_matches(expression: str) -> str:
    """`expression` with each call of `matches` (outside string literals and comments) renamed."""
    out: list[str] = []
    index, length = 0, len(expression)
    while index < length:
        char = expression[index]
        if char in "'\"":
            prefix = out[-1] if out and out[-1].lower() in _PREFIXES else ""
            end = _string_end(expression, index, raw="r" in prefix.lower())
            out.append(expression[index:end])
            index = end
        elif expression.startswith("//", index):
            end = expression.find("\n", index)
            end = length if end == -1 else end
            out.append(expression[index:end])
            index = end
        elif char.isalpha() or char == "_":
            found = _IDENTIFIER.match(expression, index)
            name = found.group(0) if found else char
            index = found.end() if found else index + 1
            rest = expression[index:].lstrip()
            out.append(CACHED_MATCHES if name == "matches" and rest.startswith("(") else name)
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _string_end(text: str, start: int, *, raw: bool) -> int:
    quote = text[start] * 3 if text.startswith(text[start] * 3, start) else text[start]
    index = start + len(quote)
    while index < len(text):
        if not raw and text[index] == "\\":
            index += 2
            continue
        if text.startswith(quote, index):
            return index + len(quote)
        if len(quote) == 1 and text[index] == "\n":
            return index  # an unterminated literal: the checker has already reported it
        index += 1
    return len(text)
