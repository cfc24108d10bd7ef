"""The dataset registry: one declaration per dataset, read from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FORMATS = {
    "text_lines": "text",
    "text_table": "text",
    "text_folders": "text",
    "speech_files": "speech",
    "speech_folders": "speech",
}

# What each format needs under `read`, and which split methods it takes (with their required keys).
READ_KEYS = {"text_lines": ("files",), "text_table": ("text_column", "label_column"), "speech_files": ("label_regex",)}
SPLIT_METHODS = {
    "text_lines": ("fraction",),
    "text_table": ("files", "column", "fraction"),
    "text_folders": ("files", "fraction"),
    "speech_files": ("regex", "list", "fraction"),
    "speech_folders": ("regex", "list", "fraction"),
}
SPLIT_KEYS = {"regex": ("test_regex",), "list": ("test_list",), "fraction": ("test_fraction",),
              "files": ("files",), "column": ("column",)}


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from, how it is verified, and how it is read and split."""

    name: str
    kind: str
    format: str
    read: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    archive_sha256: str | None = None
    archive_md5: str | None = None  # where the publisher gives only an md5
    archive_root: str = ""
    keep: tuple[str, ...] = ()
    mirror_dir: str | None = None
    manifest_sha256: str | None = None
    path: str | None = None  # a local folder, for data the user brings
    licence: str = "unknown"
    citation: str = ""
    # one fold of a study whose folds are separate datasets (leave-one-speaker-out): the group's name and what
    # this fold holds out; the report gives the group one section, each model's accuracy over the held-out folds
    group: str | None = None
    held_out: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(
                f"dataset {self.name!r}: unknown format {self.format!r}; "
                f"valid formats are {', '.join(FORMATS)}"
            )
        if FORMATS[self.format] != self.kind:
            raise ValueError(
                f"dataset {self.name!r}: format {self.format!r} is for {FORMATS[self.format]} "
                f"data but kind is {self.kind!r}"
            )
        if self.url is None and self.path is None:
            raise ValueError(f"dataset {self.name!r}: give either 'url' (to download) or 'path' (a local folder)")
        if (self.group is None) != (self.held_out is None):
            raise ValueError(f"dataset {self.name!r}: a fold names both its group and what it holds out; set both "
                             "'group' and 'held_out', or neither")


def check_reading(spec: DatasetSpec) -> None:
    """The read and split settings the format needs are there; a gap names the dataset, key and choices."""
    missing = [f"read.{key}" for key in READ_KEYS.get(spec.format, ()) if key not in spec.read]
    method = spec.split.get("method")
    methods = SPLIT_METHODS[spec.format]
    if method not in methods:
        raise ValueError(
            f"dataset {spec.name!r}: split.method {method!r} does not fit format {spec.format}; "
            f"use one of {', '.join(methods)} (see config/README.md)"
        )
    missing += [f"split.{key}" for key in SPLIT_KEYS[method] if key not in spec.split]
    if spec.format == "text_table" and method != "files" and "file" not in spec.read:
        missing.append("read.file")
    if missing:
        raise ValueError(
            f"dataset {spec.name!r}: format {spec.format} with split.method {method} needs "
            f"{', '.join(missing)}; add them to its entry (see config/README.md)"
        )


def spec_from_dict(name: str, entry: dict[str, Any]) -> DatasetSpec:
    """Build a DatasetSpec from one registry or config entry."""
    known = set(DatasetSpec.__dataclass_fields__) - {"name"}
    unknown = set(entry) - known
    if unknown:
        raise ValueError(
            f"dataset {name!r}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed keys are {', '.join(sorted(known))}"
        )
    values = dict(entry)
    values["keep"] = tuple(values.get("keep") or ())
    return DatasetSpec(name=name, **values)


def load_registry(path: str | Path, custom: dict[str, dict[str, Any]] | None = None) -> dict[str, DatasetSpec]:
    """Read the registry YAML and add the user's own datasets from config."""
    with open(path, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle) or {}
    for name in custom or {}:
        if name in entries:
            raise ValueError(f"custom dataset {name!r} has the name of a registry dataset; rename it")
    entries.update(custom or {})
    specs = {name: spec_from_dict(name, entry) for name, entry in entries.items()}
    for spec in specs.values():
        check_reading(spec)
    return specs


def user_folder(spec: DatasetSpec) -> Path | None:
    """A custom dataset's folder (None for a registry dataset); a path that is not a folder is named."""
    if spec.path is None:
        return None
    folder = Path(spec.path).expanduser()
    if not folder.is_dir():
        raise ValueError(
            f"custom dataset {spec.name!r}: path {spec.path} is not a folder (from {Path.cwd()}); "
            f"fix custom_datasets.{spec.name}.path in your config"
        )
    return folder


def user_files(spec: DatasetSpec) -> list[str]:
    """Every file of a custom dataset's folder; none for a registry dataset."""
    folder = user_folder(spec)
    return [] if folder is None else sorted(str(path) for path in folder.rglob("*") if path.is_file())


def select(registry: dict[str, DatasetSpec], names: list[str]) -> list[DatasetSpec]:
    """The specs for the named datasets; an unknown name lists the known ones."""
    missing = [name for name in names if name not in registry]
    if missing:
        raise ValueError(
            f"unknown dataset(s) {', '.join(missing)}; known datasets are {', '.join(sorted(registry))} "
            "(add your own under 'custom_datasets' in config/config.yaml)"
        )
    return [registry[name] for name in names]


# What a download reads of an entry (besides its name): entries alike in all of these hold the same files.
DOWNLOAD_FIELDS = ("kind", "format", "url", "path", "archive_sha256", "archive_md5", "archive_root", "keep",
                   "mirror_dir", "manifest_sha256")


def download_names(registry: dict[str, DatasetSpec], names: list[str]) -> dict[str, str]:
    """Each named dataset's download: the first registry entry with the same download fields, so that datasets
    holding the same files split another way (FSDD's speaker folds) fetch and store them once."""
    first: dict[tuple[Any, ...], str] = {}
    for spec in registry.values():
        first.setdefault(_download_key(spec), spec.name)
    return {name: first[_download_key(registry[name])] for name in names}


def _download_key(spec: DatasetSpec) -> tuple[Any, ...]:
    # a downloaded entry without mirror_dir reads the mirror's folder of its own name
    mirror_folder = None if spec.path else spec.mirror_dir or spec.name
    return (*(getattr(spec, name) for name in DOWNLOAD_FIELDS), mirror_folder)
