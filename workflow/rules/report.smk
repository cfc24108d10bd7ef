rule write_report:
    input:
        metrics=all_run_paths("metrics"),
        predictions=all_run_paths("predictions"),
        features=[feature_path("meta", dataset) for dataset in config["datasets"]],
    output:
        html=report(report_path("index"), caption="../report/comparison.rst", category="Comparison"),
        summary=report(report_path("summary"), caption="../report/summary.rst", category="Comparison"),
    log:
        "logs/write_report/write_report.log",
    benchmark:
        "results/benchmarks/write_report/write_report.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("report", threads=1),
    params:
        credits=dataset_credits(),
    script:
        "../scripts/write_report.py"


rule register_models:
    input:
        metrics=all_run_paths("metrics", registered_datasets()),
        summary=report_path("summary"),
    output:
        report_path("champions"),
    log:
        "logs/register_models/register_models.log",
    benchmark:
        "results/benchmarks/register_models/register_models.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("report", threads=1),
    script:
        "../scripts/register_models.py"


# Seconds of work each: not worth a cluster job.
localrules:
    write_report,
    register_models,
    write_lab_report,
