"""Rules run `matches` through a cache of compiled RE2 patterns: same answers as cel-cpp's own."""

from __future__ import annotations

import pytest
from cel_expr_python import cel

from distillery.contract.cel_check import new_env
from distillery.contract.cel_regex import CACHED_MATCHES, regex_extension, with_cached_matches

PATTERNS = [
    r"^\s*\S[^\n]*\s*$",
    r"[.!?][^\w\s]*\s+\S",
    r"^[a-z]+$",
    r"(?i)CAFÉ",
    r"\bdocs\b",
    r"^.{3}$",
    "é+",
    "",
]
TEXTS = [
    "one line",
    "Two. Sentences here",
    "café",
    "CAFÉ au lait",
    "a\nb",
    "  ",
    "",
    "naïve docs!",
    "\u00a0x",
    "日本語",
]


@pytest.mark.parametrize(
    "expression,expected",
    [
        ("output.matches('a')", f"output.{CACHED_MATCHES}('a')"),
        (
            "matches(output, 'a') && output.matches ('b')",
            f"{CACHED_MATCHES}(output, 'a') && output.{CACHED_MATCHES} ('b')",
        ),
        (
            "output == 'matches(' || output == \"x.matches('y')\"",
            "output == 'matches(' || output == \"x.matches('y')\"",
        ),
        ("output.matches(r'\\')", f"output.{CACHED_MATCHES}(r'\\')"),
        ("output.matches('''it's''') // matches(x)", f"output.{CACHED_MATCHES}('''it's''') // matches(x)"),
        ("output.matches_all == 1 || has(output.matches)", "output.matches_all == 1 || has(output.matches)"),
    ],
)
def test_only_calls_of_matches_are_renamed(expression: str, expected: str) -> None:
    assert with_cached_matches(expression) == expected


def test_cached_matches_answers_as_cel_cpp_matches() -> None:
    native = new_env({"text": cel.Type.STRING, "pattern": cel.Type.STRING})
    cached = new_env({"text": cel.Type.STRING, "pattern": cel.Type.STRING}, extra=[regex_extension()])
    ours = cached.compile(with_cached_matches("text.matches(pattern)"))
    theirs = native.compile("text.matches(pattern)")
    for pattern in PATTERNS:
        for text in TEXTS:
            data = {"text": text, "pattern": pattern}
            assert ours.eval(data=data).value() == theirs.eval(data=data).value(), (pattern, text)


def test_invalid_pattern_is_an_evaluation_error_naming_the_problem() -> None:
    env = new_env({"text": cel.Type.STRING}, extra=[regex_extension()])
    result = env.compile(with_cached_matches("text.matches('(')")).eval(data={"text": "x"})
    assert result.type() == cel.Type.ERROR
    assert "invalid regular expression: missing ): (" in str(result.value())
