"""Snakemake adapter: download (or copy from the mirror) and verify one dataset."""

import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")

from seqsuite.pipeline import download

# The mirror says where the bytes come from, not what they are (the manifest checks that), so it
# is read from config rather than params: switching mirrors must not rerun everything downstream.
download(
    entry=dict(snakemake.params.spec),
    dest=Path(snakemake.output.files),
    provenance=Path(snakemake.output.provenance),
    mirror=snakemake.config["data_mirror"],
)
