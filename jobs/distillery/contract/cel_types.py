"""CEL types from a JSON Schema or a structural OpenAPI schema, for type-checking rules.

Objects with a known, closed set of properties become protobuf messages (built at run time in a
private descriptor pool), so the CEL checker rejects a field the schema does not have, as the
kube-apiserver does for CRD validation rules. Everything the schema leaves open is `dyn`: the
mapping is sound (it never rejects a rule that could work on valid data), not complete.

JSON Schema (`structural=False`): "string"/"integer"/"number"/"boolean" -> string/int/double/bool;
a ["T", "null"] scalar -> the nullable wrapper of T; "array" -> list(items); an "object" with
`properties` and `additionalProperties: false` -> a message; an object whose `additionalProperties`
is a schema -> map(string, that); other objects -> map(string, dyn); anything else (`$ref`, mixed
types, no type) -> dyn. Structural OpenAPI (`structural=True`, CRDs): an object with `properties`
is closed (the API server prunes unknown fields); `x-kubernetes-preserve-unknown-fields` or
`x-kubernetes-int-or-string` -> dyn; `nullable: true` scalars -> wrappers.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel
from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2, wrappers_pb2

FieldProto = descriptor_pb2.FieldDescriptorProto
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCALARS = {
    "string": (FieldProto.TYPE_STRING, cel.Type.STRING, "StringValue"),
    "integer": (FieldProto.TYPE_INT64, cel.Type.INT, "Int64Value"),
    "number": (FieldProto.TYPE_DOUBLE, cel.Type.DOUBLE, "DoubleValue"),
    "boolean": (FieldProto.TYPE_BOOL, cel.Type.BOOL, "BoolValue"),
}
_package_numbers = itertools.count()


@dataclass(frozen=True)
class Kind:
    """One CEL type: scalar (a JSON Schema type name), wrapper, message, list, map or dyn."""

    tag: str
    name: str = ""
    element: Kind | None = None

    def cel_type(self) -> cel.Type:
        if self.tag == "scalar":
            return _SCALARS[self.name][1]
        if self.tag in ("wrapper", "message"):
            return cel.Type(self.name)
        if self.tag == "list" and self.element is not None:
            return cel.Type.List(self.element.cel_type())
        if self.tag == "map" and self.element is not None:
            return cel.Type.Map(cel.Type.STRING, self.element.cel_type())
        return cel.Type.DYN


DYN = Kind("dyn")


class SchemaTypes:
    """Builds the CEL types of schema nodes into one descriptor pool; `readable` names the messages."""

    def __init__(self, *, structural: bool, numbers_dyn: bool = False) -> None:
        self.structural = structural
        self.numbers_dyn = numbers_dyn  # lenient mode: int/double ordering is left to run time
        self.package = f"schema{next(_package_numbers)}"
        self.file = descriptor_pb2.FileDescriptorProto(
            name=f"{self.package}.proto",
            package=self.package,
            syntax="proto2",
            dependency=["google/protobuf/struct.proto", "google/protobuf/wrappers.proto"],
        )
        self.readable: dict[str, str] = {}
        self.kinds: dict[str, Kind] = {}
        self._pool: descriptor_pool.DescriptorPool | None = None

    def kind(self, node: Any, path: str) -> Kind:
        """The CEL type of `node` (recorded under `path` in `kinds`)."""
        kind = self._kind(node, path)
        self.kinds[path] = kind
        return kind

    def pool(self) -> descriptor_pool.DescriptorPool:
        """The descriptor pool holding every message built so far (build all kinds first)."""
        if self._pool is None:
            pool = descriptor_pool.DescriptorPool()
            pool.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
            pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
            pool.Add(self.file)
            self._pool = pool
        return self._pool

    def _kind(self, node: Any, path: str) -> Kind:
        if not isinstance(node, dict) or "$ref" in node:
            return DYN
        if self.structural and (
            node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
        ):
            return DYN
        kind, nullable = self._type_name(node)
        if kind is None:
            return DYN
        if kind in _SCALARS:
            if kind in ("integer", "number") and self.numbers_dyn:
                return DYN
            return (
                Kind("wrapper", f"google.protobuf.{_SCALARS[kind][2]}") if nullable else Kind("scalar", kind)
            )
        if nullable:
            return DYN
        if kind == "array":
            items = node.get("items")
            return Kind("list", element=self.kind(items, f"{path}[]") if isinstance(items, dict) else DYN)
        if kind == "object":
            return self._object(node, path)
        return DYN

    def _type_name(self, node: dict[str, Any]) -> tuple[str | None, bool]:
        declared = node.get("type")
        nullable = bool(node.get("nullable")) if self.structural else False
        if isinstance(declared, list):
            names = [name for name in declared if name != "null"]
            nullable = nullable or len(names) < len(declared)
            declared = names[0] if len(names) == 1 else None
        if declared is None and not self.structural:
            values = node.get("enum", [node["const"]] if "const" in node else None)
            if values and all(isinstance(value, str) for value in values):
                declared = "string"
        return (declared if isinstance(declared, str) else None), nullable

    def _object(self, node: dict[str, Any], path: str) -> Kind:
        properties = node.get("properties")
        additional = node.get("additionalProperties")
        if isinstance(properties, dict) and properties:
            closed = self.structural or (additional is False and not node.get("patternProperties"))
            if closed and all(isinstance(name, str) and IDENTIFIER.fullmatch(name) for name in properties):
                return self._message(properties, path)
            return Kind("map", element=DYN)
        if isinstance(additional, dict) and not node.get("patternProperties"):
            return Kind("map", element=self.kind(additional, f"{path}.*"))
        return Kind("map", element=DYN)

    def _message(self, properties: dict[str, Any], path: str) -> Kind:
        message = self.file.message_type.add(name=f"M{len(self.file.message_type)}")
        full_name = f"{self.package}.{message.name}"
        self.readable[full_name] = path
        for number, (name, child) in enumerate(properties.items(), start=1):
            kind = self.kind(child, f"{path}.{name}")
            # an explicit json_name: protobuf would otherwise reject "foo_bar" next to "fooBar"
            field = message.field.add(
                name=name, number=number, label=FieldProto.LABEL_OPTIONAL, json_name=f"f{number}"
            )
            if kind.tag == "list":
                field.label = FieldProto.LABEL_REPEATED
                _set_field_type(field, _storable(kind.element or DYN))
            elif kind.tag == "map" and (
                (kind.element or DYN).tag == "dyn"
                or any(nested.name == _camel(name) + "Entry" for nested in message.nested_type)
            ):
                _set_field_type(field, Kind("message", "google.protobuf.Struct"))
            elif kind.tag == "map":
                # protobuf insists on the entry's name: the field's name in CamelCase + "Entry"
                entry = message.nested_type.add(name=_camel(name) + "Entry")
                entry.options.map_entry = True
                entry.field.add(
                    name="key", number=1, label=FieldProto.LABEL_OPTIONAL, type=FieldProto.TYPE_STRING
                )
                value = entry.field.add(name="value", number=2, label=FieldProto.LABEL_OPTIONAL)
                _set_field_type(value, _storable(kind.element or DYN))
                field.label = FieldProto.LABEL_REPEATED
                field.type = FieldProto.TYPE_MESSAGE
                field.type_name = f".{full_name}.{entry.name}"
            else:
                _set_field_type(field, kind)
        return Kind("message", full_name)


def _camel(name: str) -> str:
    parts = name.split("_")
    return "".join(part[:1].upper() + part[1:] for part in parts)


def _storable(kind: Kind) -> Kind:
    """A list element or map value as protobuf can hold it (nested lists and maps become dyn ones)."""
    if kind.tag == "list":
        return Kind("message", "google.protobuf.ListValue")
    if kind.tag == "map":
        return Kind("message", "google.protobuf.Struct")
    return kind


def _set_field_type(field: FieldProto, kind: Kind) -> None:
    if kind.tag == "scalar":
        field.type = _SCALARS[kind.name][0]
        return
    field.type = FieldProto.TYPE_MESSAGE
    field.type_name = "." + (kind.name if kind.tag in ("wrapper", "message") else "google.protobuf.Value")
