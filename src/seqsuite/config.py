"""Config helpers that Snakemake's own parsing leaves to the workflow."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, TypeVar

import jsonschema
import yaml

Settings = TypeVar("Settings")
_PARSED_TYPES = {"integer": int, "number": (int, float), "boolean": bool, "null": type(None)}


def typed_by_schema(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """Give a string its YAML type ('3' -> 3) where the JSON schema expects a number, boolean or null.

    `snakemake --config 'seeds=[0, 1]'` parses nested values with YAML's BaseLoader, which keeps every
    one a string; this restores the types a config file would have had, and leaves strings the schema
    wants as strings (labels, file names, encodings) alone.
    """
    root = root or schema
    schema = _resolve(schema, root)
    if isinstance(value, dict):
        return {key: typed_by_schema(item, _property_schema(schema, key, root), root) for key, item in value.items()}
    if isinstance(value, list):
        return [typed_by_schema(item, _resolve(schema.get("items", {}), root), root) for item in value]
    if isinstance(value, str) and "null" in _types(schema) and value in ("null", "~"):
        return None
    if isinstance(value, str) and _wants_scalar(schema):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        wanted = tuple(_PARSED_TYPES[t] for t in _types(schema) if t in _PARSED_TYPES)
        return parsed if wanted and isinstance(parsed, wanted) and not isinstance(parsed, str) else value
    return value


def config_problems(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """One line per way the config breaks the schema, naming the key; a misspelt key lists the allowed ones
    (the schema itself, which a validator's message would print, runs to hundreds of lines)."""
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(map(str, error.absolute_path)) or "config"
        problem = f"{where}: {error.message}"
        if error.validator in ("additionalProperties", "unevaluatedProperties"):
            resolved = _resolve(error.schema, schema)
            allowed, patterns = resolved.get("properties", {}), resolved.get("patternProperties", {})
            unexpected = [key for key in error.instance
                          if key not in allowed and not any(re.search(pattern, key) for pattern in patterns)]
            if not unexpected:  # a part of allOf failed (its own line says how), so its keys count as unevaluated
                continue
            problem = f"{where}: unknown key{'s' * (len(unexpected) > 1)} {', '.join(map(repr, unexpected))}; " \
                      f"allowed keys: {', '.join(allowed)}"
        elif error.validator == "type" and error.validator_value == "array":
            problem += f"; give a list, e.g. [{error.instance}]"
            if len(error.absolute_path) == 1 and isinstance(error.instance, str | int | float):
                problem += f" (on the command line: --config {where}='[{error.instance}]')"
        problems.append(problem)
    return problems


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref (#/$defs/...) and merge allOf parts."""
    if not isinstance(schema, dict):
        return {}
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**_resolve(target, root), **{k: v for k, v in schema.items() if k != "$ref"}}
    for part in schema.get("allOf", ()):
        resolved = _resolve(part, root)
        properties = {**resolved.get("properties", {}), **schema.get("properties", {})}
        schema = {**resolved, **schema, "properties": properties}
    return schema


def _property_schema(schema: dict[str, Any], key: str, root: dict[str, Any]) -> dict[str, Any]:
    named = schema.get("properties", {}).get(key)
    if named is not None:
        return _resolve(named, root)
    extra = schema.get("additionalProperties")
    return _resolve(extra, root) if isinstance(extra, dict) else {}


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _wants_scalar(schema: dict[str, Any]) -> bool:
    types = _types(schema)
    return bool(types) and not set(types) & {"string", "object", "array"} and bool(set(types) & set(_PARSED_TYPES))


def from_config(cls: type[Settings], values: dict[str, Any]) -> Settings:
    """Build a dataclass from the keys of a config section that it has, ignoring the others."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})
