# The report's inputs depend on what an invocation asked for (see lab_only in common.smk), which only
# the main process knows; it is cheap, so it always runs there rather than as a cluster job.
localrules:
    report,


rule report:
    input:
        metrics=report_input("metrics"),
        predictions=report_input("predictions"),
        features=report_features,
        lab_summary=lab_report_input("summary"),
        lab_decay=lab_report_input("decay"),
        lab_gradient_plot=lab_report_input("gradient_plot"),
        lab_gate_plot=lab_report_input("gate_plot"),
        lab_settings=lab_report_input("settings"),
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
        carried=carried_results,
    resources:
        **job_resources("report", threads=1),
    conda:
        "../../environment.yml"
    script:
        "../scripts/write_report.py"
