"""Snakemake adapter: download (or copy from the mirror) and verify one dataset."""

from pathlib import Path

from seqsuite.steps.download import download
from seqsuite.steps.logs import logged_step

# The mirror says where the bytes come from, not what they are (the manifest checks that), so it
# is read from config rather than params: switching mirrors must not rerun everything downstream.
with logged_step(snakemake.log[0]):
    download(
        entry=dict(snakemake.params.spec),
        dest=Path(snakemake.output.files),
        provenance=Path(snakemake.output.provenance),
        mirror=snakemake.config["data_mirror"],
    )
