"""The download step, apart from the feature step (seqsuite.steps.data) so that a download job imports neither
torch nor the feature code (README, "Where the time goes")."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from seqsuite.data.download import fetch_dataset
from seqsuite.data.registry import spec_from_dict

log = logging.getLogger("seqsuite")


def download(entry: dict[str, Any], dest: Path, provenance: Path, mirror: str | None) -> None:
    """Fetch and verify one dataset into dest; record where it came from and its manifest digest."""
    spec = spec_from_dict(entry.pop("name"), entry)
    info = fetch_dataset(spec, dest, mirror)
    provenance.write_text(json.dumps({**info, "url": spec.url or spec.path}, indent=1))
    log.info("dataset %s from %s verified (manifest sha256 %s)", spec.name, info["source"], info["manifest_sha256"])
