rule report:
    input:
        metrics=all_run_outputs("metrics"),
        predictions=all_run_outputs("predictions"),
        features=expand("results/features/{dataset}/meta.json", dataset=config["datasets"]),
    output:
        html=report(
            "results/report/index.html",
            caption="../report/comparison.rst",
            category="Comparison",
        ),
        summary=report(
            "results/report/summary.csv",
            caption="../report/summary.rst",
            category="Comparison",
        ),
    log:
        "logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    params:
        credits=dataset_credits(),
    resources:
        **job_resources("report", threads=1),
    conda:
        "../../environment.yml"
    script:
        "../scripts/write_report.py"
