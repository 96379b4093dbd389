"""The API reference page (``/api/v1/docs``): the OpenAPI schema rendered on the server.

Swagger UI (about 1.5 MB of script, interactive widgets nested in buttons) stays one link
away (``?ui=swagger``); the reference is plain HTML from our templates and CSS: light on a
phone, readable with a screen reader, searchable with the browser, the same schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_METHOD_ORDER = {"get": 0, "post": 1, "patch": 2, "put": 3, "delete": 4}


@dataclass
class Param:
    name: str
    where: str
    required: bool
    type: str
    rules: list[str]
    description: str


@dataclass
class Prop:
    name: str
    required: bool
    type: str
    rules: list[str]
    description: str
    ref: str = ""


@dataclass
class Shape:
    name: str
    anchor: str
    description: str
    props: list[Prop]
    rules: list[str]


@dataclass
class Answer:
    status: str
    description: str
    shape: str
    anchor: str
    headers: list[str]


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    params: list[Param]
    body: str
    body_anchor: str
    answers: list[Answer]


@dataclass
class Section:
    tag: str
    anchor: str
    operations: list[Operation] = field(default_factory=list)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(*parts: str) -> str:
    raw = "-".join(parts).lower()
    return "".join(c if c.isalnum() else "-" for c in raw).strip("-")


def _type_of(schema: dict[str, Any]) -> tuple[str, str]:
    """A short type ("string", "integer or null", "array of CustomerOut") and the anchor of
    the shape it names, if any."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return name, _anchor("shape", name)
    if "anyOf" in schema or "oneOf" in schema:
        texts, anchor = [], ""
        for option in schema.get("anyOf") or schema.get("oneOf") or []:
            text, a = _type_of(option)
            anchor = anchor or a
            if text and text not in texts:
                texts.append(text)
        return " or ".join(texts), anchor
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False), ""
    kind = schema.get("type", "")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind), ""
    if kind == "array":
        inner, anchor = _type_of(schema.get("items", {}))
        return (f"array of {inner}" if inner else "array"), anchor
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        inner, anchor = _type_of(schema["additionalProperties"])
        return (f"object of {inner}" if inner else "object"), anchor
    if schema.get("format"):
        return f"{kind} ({schema['format']})", ""
    return str(kind), ""


def _rules(schema: dict[str, Any]) -> list[str]:
    out = []
    if "enum" in schema:
        values = ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
        out.append(f"one of {values}")
    for key, text in (
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minimum", "≥ {}"),
        ("maximum", "≤ {}"),
        ("minItems", "at least {} items"),
        ("maxItems", "at most {} items"),
        ("pattern", "matches {}"),
    ):
        if key in schema:
            out.append(text.format(schema[key]))
    if "default" in schema and schema["default"] not in (None, "", [], {}):
        out.append(f"default {json.dumps(schema['default'], ensure_ascii=False)}")
    if "propertyNames" in schema and "enum" in schema["propertyNames"]:
        keys = ", ".join(schema["propertyNames"]["enum"])
        out.append(f"keys among {keys}")
    return out


def _group_rules(schema: dict[str, Any]) -> list[str]:
    """Rules across fields: "first_name or last_name is required", "card_number or
    customer_id, not both"."""
    out = []
    for key, word in (("anyOf", "at least one of"), ("oneOf", "exactly one of")):
        options = schema.get(key)
        if isinstance(options, list) and all("required" in o for o in options):
            names = [" + ".join(o["required"]) for o in options]
            out.append(f"{word}: {', '.join(names)}")
    return out


def _shape(name: str, schema: dict[str, Any]) -> Shape:
    required = set(schema.get("required", []))
    props = []
    for prop_name, prop in schema.get("properties", {}).items():
        text, anchor = _type_of(prop)
        props.append(
            Prop(
                prop_name,
                prop_name in required,
                text,
                _rules(prop),
                prop.get("description", ""),
                anchor,
            )
        )
    return Shape(
        name, _anchor("shape", name), schema.get("description", ""), props, _group_rules(schema)
    )


def _resolve(schema: dict[str, Any], node: dict[str, Any], kind: str) -> dict[str, Any]:
    if "$ref" in node:
        return dict(schema["components"][kind][_ref_name(node["$ref"])])
    return node


def build(schema: dict[str, Any]) -> dict[str, Any]:
    """Sections (by tag) of operations, and every shape, from an OpenAPI 3.1 dict."""
    sections: dict[str, Section] = {}
    for path, operations in schema.get("paths", {}).items():
        for method, op in sorted(operations.items(), key=lambda m: _METHOD_ORDER.get(m[0], 9)):
            if not isinstance(op, dict) or "responses" not in op:
                continue
            tag = (op.get("tags") or ["api"])[0]
            section = sections.setdefault(tag, Section(tag, _anchor("tag", tag)))
            params = []
            for raw in op.get("parameters", []):
                p = _resolve(schema, raw, "parameters")
                text, _a = _type_of(p.get("schema", {}))
                params.append(
                    Param(
                        p["name"],
                        p.get("in", ""),
                        bool(p.get("required")),
                        text,
                        _rules(p.get("schema", {})),
                        p.get("description", "") or p.get("schema", {}).get("description", ""),
                    )
                )
            body, body_anchor = "", ""
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body, body_anchor = _type_of(content["application/json"].get("schema", {}))
            answers = []
            for status, raw in sorted(op["responses"].items(), key=lambda r: str(r[0])):
                response = _resolve(schema, raw, "responses")
                shape, anchor = "", ""
                json_content = response.get("content", {}).get("application/json")
                if json_content:
                    shape, anchor = _type_of(json_content.get("schema", {}))
                answers.append(
                    Answer(
                        str(status),
                        response.get("description", ""),
                        shape,
                        anchor,
                        sorted(response.get("headers", {})),
                    )
                )
            section.operations.append(
                Operation(
                    method.upper(),
                    path,
                    _anchor(method, path),
                    op.get("summary", ""),
                    op.get("description", ""),
                    params,
                    body,
                    body_anchor,
                    answers,
                )
            )
    shapes = [
        _shape(name, s)
        for name, s in sorted(schema.get("components", {}).get("schemas", {}).items())
    ]
    info = schema.get("info", {})
    return {
        "title": info.get("title", "API"),
        "version": info.get("version", ""),
        "description": info.get("description", ""),
        "sections": list(sections.values()),
        "shapes": shapes,
    }
