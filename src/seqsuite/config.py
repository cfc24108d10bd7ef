"""Config helpers that Snakemake's own parsing leaves to the workflow."""

from __future__ import annotations

from typing import Any

import yaml

_SCALARS = (bool, int, float, type(None))


def typed_values(value: Any) -> Any:
    """Give strings inside lists and mappings their YAML type ('3' -> 3, 'true' -> True).

    `snakemake --config 'seeds=[0, 1]'` parses nested values with YAML's BaseLoader, which keeps
    every one a string; this restores the types a config file would have had.
    """
    if isinstance(value, dict):
        return {key: _typed_leaf(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed_leaf(item) for item in value]
    return value


def _typed_leaf(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return typed_values(value)
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return parsed if isinstance(parsed, _SCALARS) and value.strip() != "" else value
    return value
