"""Semantic checks of a DistillationRun beyond what the models' types express.

Every problem is one string "field.path: what is wrong (got ...)"; all problems of a manifest are
reported together so a user fixes them in one go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillery.api.manifest import parse_manifest, read_documents
from distillery.api.resource import KIND, MAX_RUN_NAME, DistillationRun
from distillery.errors import ManifestError

DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass
class ManifestReport:
    """The outcome of validating one document."""

    source: str
    name: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_name(document: dict[str, Any]) -> Iterator[str]:
    name = (document.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        yield "metadata.name: required (a DNS-1123 label)"
        return
    if not DNS_1123_LABEL.match(name):
        yield f"metadata.name: must be a DNS-1123 label: lowercase letters, digits and '-' (got {name!r})"
    if len(name) > MAX_RUN_NAME:
        yield (
            f"metadata.name: must be at most {MAX_RUN_NAME} characters so Job names fit in 63 "
            f"(got {len(name)})"
        )


def _check_contract(run: DistillationRun) -> Iterator[str]:
    """The JSON Schema, then every rule type-checked against it (and `output` a string for text/label)."""
    from distillery.contract.cel_rules import RuleEnvironment
    from distillery.errors import ContractError

    output = run.spec.task.output
    schema = output.json_schema
    if schema is not None:
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = "/".join(str(part) for part in exc.path) or "<root>"
            yield f"spec.task.output.jsonSchema: not a valid JSON Schema at {where}: {exc.message}"
            schema = None  # rules are still checked, with `output` untyped
    if not output.rules:
        return
    environment = RuleEnvironment(output.format, schema)
    for index, rule in enumerate(output.rules):
        try:
            environment.compile(rule.name, rule.expression)
        except ContractError as exc:
            yield f"spec.task.output.rules[{index}].expression: invalid CEL ({exc})"


def _valid_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    import jsonschema

    if schema is None:
        return None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError:
        return None  # reported by _check_contract
    return schema


def _schema_at(schema: dict[str, Any], keys: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    """(the subschema at a dotted path or None when unknown, a problem with the path or None)."""
    node: Any = schema
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or "$ref" in node:
            return None, None
        properties = node.get("properties")
        where = ".".join(["output", *keys[:depth]])
        closed = node.get("additionalProperties") is False and not node.get("patternProperties")
        if isinstance(properties, dict) and key in properties:
            node = properties[key]
        elif closed:
            known = ", ".join(sorted(properties or {})) or "none"
            return None, f"{key!r} is not a property of {where} (jsonSchema allows: {known})"
        else:
            return None, None
    return (node if isinstance(node, dict) else None), None


def _check_repairs(run: DistillationRun) -> Iterator[str]:
    """Each repair's condition type-checked like a rule; paths and values checked against jsonSchema."""
    from distillery.contract.cel_rules import RuleEnvironment
    from distillery.errors import ContractError

    output = run.spec.task.output
    if not output.repairs:
        return
    schema = _valid_schema(output.json_schema)
    environment = RuleEnvironment(output.format, schema)
    for index, repair in enumerate(output.repairs):
        where = f"spec.task.output.repairs[{index}]"
        try:
            environment.compile(repair.name, repair.when, kind="repair")
        except ContractError as exc:
            yield f"{where}.when: invalid CEL ({exc})"
        action, path = ("set", repair.set.path) if repair.set is not None else ("remove", repair.remove.path)
        if schema is None:
            continue
        keys = path.split(".")
        target, problem = _schema_at(schema, keys)
        if problem:
            yield f"{where}.{action}.path: {problem}"
        elif repair.set is not None and target is not None:
            yield from _value_problems(target, repair.set.value, f"{where}.set.value", path)
        elif repair.remove is not None:
            parent, _ = _schema_at(schema, keys[:-1])
            if parent is not None and keys[-1] in (parent.get("required") or []):
                yield (
                    f"{where}.remove.path: {path!r} is required by jsonSchema; removing it would make "
                    "every repaired output fail the schema"
                )


def _value_problems(target: dict[str, Any], value: Any, where: str, path: str) -> Iterator[str]:
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(target).iter_errors(value), key=lambda e: list(e.path))
    for error in errors[:3]:
        yield f"{where}: does not satisfy jsonSchema at output.{path}: {error.message}"


def _check_anchors(run: DistillationRun) -> Iterator[str]:
    anchors = run.spec.curation.anchors
    if anchors is None:
        return
    source = anchors.source
    if source.inline is not None:
        yield (
            "spec.curation.anchors.source.inline: inline prompts carry no expected output; use uri or "
            'configMap JSONL lines {"prompt", "expected"}, or a dataset with expectedColumn'
        )
    if source.dataset is not None and source.dataset.expected_column is None:
        yield (
            "spec.curation.anchors.source.dataset.expectedColumn: required for anchors "
            "(the human-verified answer each anchor is trained on)"
        )


def _check_schedule(run: DistillationRun) -> Iterator[str]:
    schedule = run.spec.schedule
    if schedule:
        from croniter import croniter

        if not croniter.is_valid(schedule):
            yield f"spec.schedule: not a valid cron expression (got {schedule!r})"


def _check_sampling(run: DistillationRun) -> Iterator[str]:
    samples = run.spec.prompts.expand.samples_per_prompt
    temperature = run.spec.teacher.temperature
    if samples > 1 and temperature == 0:
        yield (
            f"spec.prompts.expand.samplesPerPrompt: {samples} samples per prompt need sampling; "
            f"spec.teacher.temperature is 0 (leave it unset or > 0)"
        )


def _check_modifiers(run: DistillationRun) -> Iterator[str]:
    """A modifier's select against the inline base prompts (other sources are counted at collect time),
    by the rule collect applies (prompts.parse_select)."""
    from distillery.errors import PromptSourceError
    from distillery.prompts import parse_select

    sources = run.spec.prompts.sources
    if not all(source.inline is not None for source in sources):
        return
    base_count = sum(len(source.inline or []) for source in sources)
    for index, modifier in enumerate(run.spec.prompts.expand.modifiers):
        try:
            parse_select(modifier.select, base_count, where=f"spec.prompts.expand.modifiers[{index}].select")
        except PromptSourceError as error:
            yield str(error)


def _check_pricing(run: DistillationRun) -> Iterator[str]:
    teacher = run.spec.teacher
    budget = teacher.budget
    if budget.max_cost_usd is None or teacher.pricing is not None:
        return
    from distillery.pricing import lookup_default

    if lookup_default(teacher.model) is None:
        yield (
            f"spec.teacher.pricing: required when budget.maxCostUSD is set and the model "
            f"{teacher.model!r} is not in the built-in price table"
        )


def _check_publish(run: DistillationRun) -> Iterator[str]:
    spec = run.spec
    metrics = spec.publish.comparison.metrics
    if spec.publish.enabled and "teacherAgreement" in metrics and "teacher" not in spec.evaluation.compare:
        yield (
            "spec.publish.comparison.metrics: teacherAgreement needs the teacher's answers "
            "(add 'teacher' to spec.evaluation.compare)"
        )


# The longest Job name a candidate gets: <run>-a<attempt>-evaluate-<candidate> (attempts < 10000).
CANDIDATE_JOB_OVERHEAD = len("-a9999-evaluate-")


def _check_candidates(run: DistillationRun) -> Iterator[str]:
    room = 63 - len(run.name) - CANDIDATE_JOB_OVERHEAD
    for index, candidate in enumerate(run.spec.student.candidates):
        if len(candidate.name) > room:
            yield (
                f"spec.student.candidates[{index}].name: {candidate.name!r} is too long for run "
                f"{run.name!r}: "
                f"Job names <run>-a<N>-evaluate-<name> must fit in 63 characters (at most {max(room, 0)})"
            )


SEMANTIC_CHECKS: list[Callable[[DistillationRun], Iterator[str]]] = [
    _check_contract,
    _check_repairs,
    _check_anchors,
    _check_schedule,
    _check_sampling,
    _check_modifiers,
    _check_pricing,
    _check_publish,
    _check_candidates,
]


def semantic_problems(run: DistillationRun) -> list[str]:
    """Every problem of a manifest that parsed, beyond what its types express."""
    return [problem for check in SEMANTIC_CHECKS for problem in check(run)]


def validate_document(document: Any, source: str) -> ManifestReport:
    """All problems of one parsed document (types first, then semantics)."""
    report = ManifestReport(source=source)
    if isinstance(document, dict):
        report.name = (document.get("metadata") or {}).get("name")
        report.problems.extend(_check_name(document))
    try:
        run = parse_manifest(document, source)
    except ManifestError as exc:
        report.problems.extend(problem for problem in exc.problems if not problem.startswith("metadata.name"))
        return report
    report.problems.extend(semantic_problems(run))
    return report


def _crd_report(document: dict[str, Any], source: str) -> ManifestReport:
    """A CustomResourceDefinition: its CEL validation rules type-checked against its schema."""
    from distillery.api.crd_cel import crd_validation_problems

    name = (document.get("metadata") or {}).get("name")
    return ManifestReport(source=source, name=name, problems=crd_validation_problems(document))


def validate_file(path: str | Path) -> list[ManifestReport]:
    """Reports for every DistillationRun document in a file (a file with none is an error)."""
    path = Path(path)
    try:
        documents = read_documents(path)
    except ManifestError as exc:
        return [ManifestReport(source=str(path), problems=exc.problems)]
    crds = [
        doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    ]
    if crds:
        return [_crd_report(doc, str(path)) for doc in crds]
    runs = [doc for doc in documents if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap"]
    if not runs:
        return [ManifestReport(source=str(path), problems=[f"no {KIND} document found"])]
    many = len(runs) > 1
    return [
        validate_document(doc, f"{path}#{index}" if many else str(path)) for index, doc in enumerate(runs)
    ]
