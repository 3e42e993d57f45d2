"""Repairs to generated JSON Schemas: what a query string can carry, NUL-free text, and request
bodies that refuse unknown fields saying so (`additionalProperties: false`)."""

from __future__ import annotations

from typing import Any

import msgspec

NO_NUL = "^[^\\x00]*$"
"""Text the service stores may not hold U+0000 (PostgreSQL cannot): `api/text_input.py`."""
_NOT_FREE_TEXT = ("format", "enum", "const", "pattern")


def not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without its `null` alternative (a query parameter is absent, never null)."""
    schema = dict(schema)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [b for b in schema[key] if b != {"type": "null"}]
            if len(branches) == 1:
                outer = {k: v for k, v in schema.items() if k != key}
                return not_null({**branches[0], **outer})
            schema[key] = branches
    if isinstance(schema.get("type"), list):
        kinds = [t for t in schema["type"] if t != "null"]
        schema["type"] = kinds[0] if len(kinds) == 1 else kinds
    if isinstance(schema.get("enum"), list):
        schema["enum"] = [v for v in schema["enum"] if v is not None]
    return schema


def no_nul(schema: dict[str, Any]) -> None:
    """Free text in `schema` (and in its branches, items and values) says it holds no NUL."""
    kinds = schema.get("type")
    if (kinds == "string" or (isinstance(kinds, list) and "string" in kinds)) and not any(
        k in schema for k in _NOT_FREE_TEXT
    ):
        schema["pattern"] = NO_NUL
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key, []):
            if isinstance(branch, dict):
                no_nul(branch)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            no_nul(schema[key])
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            no_nul(prop)


def _structs(info: msgspec.inspect.Type, found: dict[str, bool]) -> None:
    """Every Struct reachable from `info`: its name → whether it refuses unknown fields."""
    if isinstance(info, msgspec.inspect.StructType):
        if info.cls.__name__ in found:
            return
        found[info.cls.__name__] = info.forbid_unknown_fields
        for f in info.fields:
            _structs(f.type, found)
        return
    for attr in ("types", "item_type", "key_type", "value_type", "item_types"):
        inner = getattr(info, attr, None)
        for part in inner if isinstance(inner, tuple) else [inner] if inner is not None else []:
            _structs(part, found)


def forbid_unknown_fields(schema: dict[str, Any], handlers: list[Any]) -> None:
    """Request body components: `additionalProperties: false` where the Struct forbids unknown
    fields, and NUL-free text."""
    found: dict[str, bool] = {}
    for handler in handlers:
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            continue
        try:
            _structs(msgspec.inspect.type_info(data.annotation), found)
        except (TypeError, ValueError):
            continue  # not a msgspec type (a form model): documented as Litestar made it
    components = schema.get("components", {}).get("schemas", {})
    for name, forbids in found.items():
        component = components.get(name)
        if component is None:
            continue
        if forbids:
            component["additionalProperties"] = False
        no_nul(component)
