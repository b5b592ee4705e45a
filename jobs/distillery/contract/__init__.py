"""The output contract shared by curation and evaluation: parsing, JSON Schema and CEL rules.

`Contract(spec.task.output)` compiles once (ContractError on a bad rule or schema);
`contract.check(completion, prompt=prompt)` gives a ContractResult with `passed`,
`passed_tolerant`, `failures` and `to_dict()`. `apply_repairs(spec.task.output, completion)` (or
`Repairs(spec.task.output).apply(...)` for many) applies the declarative repairs to one output.
"""

from distillery.contract.cel_rules import compile_rule
from distillery.contract.engine import Contract
from distillery.contract.repairs import Repaired, Repairs, apply_repairs
from distillery.contract.results import ContractResult, RuleResult

__all__ = ["Contract", "ContractResult", "Repaired", "Repairs", "RuleResult", "apply_repairs", "compile_rule"]
