# seqsuite: when do gated recurrent networks (LSTM) beat plain RNNs and MLPs, and why?
# Downloads text and speech datasets, extracts features, trains MLP, RNN and LSTM per dataset and
# seed, logs every run to MLflow and writes a comparison report; `snakemake longdep` adds the
# long-dependency lab (generated tasks where only the gap length changes), `snakemake tune` the comparison
# after the same tuning budget for every model. See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/longdep.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/tune.smk"


rule all:
    input:
        get_final_output(),
