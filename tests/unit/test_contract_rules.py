"""CEL rules and JSON Schema: compile errors, runtime errors, `input`, string helpers, reports."""

from __future__ import annotations

import pytest

from distillery.api.spec import OutputRule, OutputSpec
from distillery.contract import Contract, RuleResult, compile_rule
from distillery.errors import ContractError


def json_contract(*rules: tuple[str, str], schema: dict | None = None) -> Contract:
    return Contract(
        OutputSpec(
            format="json",
            json_schema=schema,
            rules=[OutputRule(name=name, expression=expression) for name, expression in rules],
        )
    )


def test_rule_using_input_sees_the_prompt() -> None:
    contract = json_contract(("echoes-prompt", "output.answer.contains(input)"))

    assert contract.check('{"answer": "You said: hello"}', prompt="hello").passed
    missed = contract.check('{"answer": "Hi there"}', prompt="hello")
    assert missed.rules == [
        RuleResult("echoes-prompt", False, "expression is false: output.answer.contains(input)")
    ]


def test_input_is_empty_without_a_prompt() -> None:
    contract = json_contract(("no-prompt", "input == ''"))

    assert contract.check("{}").passed


def test_runtime_error_is_a_failed_rule_not_a_crash() -> None:
    contract = json_contract(("needs-title", "size(output.title) > 0"), ("index", "output.items[3] == 1"))

    result = contract.check('{"items": [1]}')

    assert result.failures == ["rule:needs-title", "rule:index"]
    assert result.rules[0].message == 'evaluation error: Key not found in map : "title"'
    assert result.rules[1].message == "evaluation error: Index error: index=3 size=1"


def test_rule_returning_a_non_bool_is_a_contract_error_when_the_type_is_known() -> None:
    with pytest.raises(ContractError, match=r"rule 'count': returns int, not a bool"):
        json_contract(("count", "size(output.items)"))


def test_rule_returning_a_non_bool_at_run_time_fails_saying_so() -> None:
    contract = json_contract(("items", "output.items"))

    result = contract.check('{"items": [1, 2]}')

    assert result.failures == ["rule:items"]
    assert result.rules[0].message == "returned list(dyn) [1, 2], not a bool"


def test_rules_run_on_a_tolerant_parse() -> None:
    contract = json_contract(("positive", "output.n > 0"))

    result = contract.check('The answer is {"n": 3}.')

    assert result.parse == "tolerant"
    assert result.rules == [RuleResult("positive", True)]


def test_integer_beyond_64_bits_fails_the_rules_that_read_it() -> None:
    contract = json_contract(("anything", "true"), ("reads-n", "output.n > 0"))

    result = contract.check('{"n": 123456789012345678901234567890}')

    assert result.failures == ["rule:reads-n"]
    assert (result.rules[1].message or "").startswith(
        "evaluation error: Integer value '123456789012345678901234567890' out of range"
    )


def test_bad_cel_syntax_raises_contract_error_naming_the_rule() -> None:
    with pytest.raises(
        ContractError,
        match=r"rule 'six-bands': CEL syntax error at line 1, column 27: missing '\)' at '<EOF>'",
    ):
        json_contract(("six-bands", "size(output.fragments == 6"))


def test_compile_rule_checks_one_expression() -> None:
    compile_rule("size(output) == 6 && input.startsWith('x')")
    with pytest.raises(ContractError, match=r"rule 'rule': CEL syntax error"):
        compile_rule("output. ==")


def test_unknown_function_and_variable_are_caught_at_compile_time() -> None:
    with pytest.raises(
        ContractError, match=r"rule 'r': .*undeclared reference to 'chrAt' \(an unknown function"
    ):
        compile_rule("output.chrAt(0) == 'a'", name="r")
    with pytest.raises(ContractError, match=r"rule 'r': .*undeclared reference to 'ouput.x'"):
        compile_rule("ouput.x == 1", name="r")


def test_comprehension_variables_and_type_names_are_known() -> None:
    compile_rule("output.items.all(item, type(item) == int) && output.m.exists(k, k in ['a'])")


def test_string_extension_functions() -> None:
    contract = json_contract(
        ("lower", "output.s.lowerAscii() == 'hello world'"),
        ("upper", "output.s.upperAscii() == 'HELLO WORLD'"),
        ("trim", "'  x '.trim() == 'x'"),
        ("split-join", "output.s.split(' ').join('-') == 'Hello-World'"),
        ("replace", "output.s.replace('World', 'CEL') == 'Hello CEL'"),
        ("index-of", "output.s.indexOf('World') == 6"),
        ("substring", "output.s.substring(0, 5) == 'Hello' && output.s.substring(6) == 'World'"),
        ("char-at", "output.s.charAt(4) == 'o' && output.s.lastIndexOf('o') == 7"),
        ("math", "math.greatest(output.n, 2) == 3"),
        ("type-error", "output.n.trim() == ''"),
    )

    result = contract.check('{"s": "Hello World", "n": 3}')

    assert result.failures == ["rule:type-error"]
    assert result.rules[-1].message == "evaluation error: No matching overloads found : (int64).trim()"


def test_regex_matches_uses_re2_and_bad_patterns_fail_the_rule() -> None:
    contract = json_contract(
        ("one-line", r"output.s.matches(r'^[^\n]+$')"), ("bad-regex", "output.s.matches('(')")
    )

    result = contract.check('{"s": "one line"}')

    assert [rule.passed for rule in result.rules] == [True, False]
    assert result.rules[1].message == "evaluation error: invalid regular expression: missing ): ("


def test_invalid_json_schema_raises_contract_error() -> None:
    with pytest.raises(ContractError, match=r"jsonSchema: invalid JSON Schema at \$\.properties\.n\.type"):
        json_contract(schema={"type": "object", "properties": {"n": {"type": "integr"}}})


def test_schema_collects_every_error_in_document_order() -> None:
    schema = {
        "type": "object",
        "required": ["items", "name"],
        "properties": {"items": {"type": "array", "items": {"type": "integer"}}},
    }
    contract = json_contract(schema=schema)

    result = contract.check('{"items": [1, "two", 3, 4, 5, 6, 7, 8, 9, 10, "eleven"]}')

    assert result.schema_errors == [
        "$: 'name' is a required property",
        "$.items[1]: 'two' is not of type 'integer'",
        "$.items[10]: 'eleven' is not of type 'integer'",
    ]
    assert result.failures == ["schema"]


def test_explicit_schema_draft_is_honoured() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}

    assert json_contract(schema=draft7).check("[1]").schema_errors == ["$[0]: 1 is not of type 'string'"]


def test_one_pass_and_per_rule_evaluation_agree() -> None:
    rules = (
        ("commented", "output.n > 0 // a comment ends the line"),
        ("errors", "output.items[3] == 1"),
        ("false", "output.n == 2"),
    )
    contract = json_contract(*rules)
    alone = [json_contract(rule) for rule in rules]

    for completion in ('{"n": 1, "items": [1]}', '{"n": 2, "items": [0, 0, 0, 1]}'):
        together = contract.check(completion).rules
        assert together == [one.check(completion).rules[0] for one in alone]
    assert contract.check('{"n": 2, "items": [0, 0, 0, 1]}').passed
    assert [rule.passed for rule in contract.check('{"n": 1, "items": [1]}').rules] == [True, False, False]
