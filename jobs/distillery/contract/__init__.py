"""The output contract shared by curation and evaluation: parsing, JSON Schema and CEL rules.

`Contract(spec.task.output)` compiles once (ContractError on a bad rule or schema);
`contract.check(completion, prompt=prompt)` gives a ContractResult with `passed`,
`passed_tolerant`, `failures` and `to_dict()`.
"""

from distillery.contract.cel_rules import compile_rule
from distillery.contract.engine import Contract
from distillery.contract.results import ContractResult, RuleResult

__all__ = ["Contract", "ContractResult", "RuleResult", "compile_rule"]
