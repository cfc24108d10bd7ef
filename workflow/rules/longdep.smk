# The long-dependency lab (`snakemake --cores 2 longdep`): generated tasks where only the gap length T
# changes; every model of the registry per task, T and seed, the LSTM ablations among them; see README.md.
# On a cluster each (task, T, seed)'s data and runs form one job group, "longdep" (the SLURM profile packs
# several into one SLURM job); local runs ignore groups.
rule generate_longdep_data:
    output:
        lab_data_path(),
    log:
        "logs/generate_longdep_data/{task}/T{T}/seed{seed}.log",
    benchmark:
        "results/benchmarks/generate_longdep_data/{task}/T{T}/seed{seed}.tsv"
    group:
        "longdep"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("generate", threads=1),
    params:
        sizes=config["longdep"]["sizes"],
    script:
        "../scripts/generate_longdep_data.py"


# One rule per model the lab runs, as for the datasets (train_longdep_mlp, ..., the ablations too); a job trains
# its model on every task, T and seed, one run after another in one process (most runs train for seconds).
for model in lab_models():

    rule:
        name:
            f"train_longdep_{model}"
        input:
            data=sorted({lab_data_path(task, length, seed) for task, length, seed in lab_model_runs(model)}),
        output:
            lab_run_outputs(model),
        log:
            f"logs/train_longdep_{model}/runs.log",
        benchmark:
            f"results/benchmarks/train_longdep_{model}/runs.tsv"
        conda:
            "../../environment.yml"
        threads: config["threads"]["train"]
        resources:
            **job_resources("train_lab", threads=config["threads"]["train"], runs=len(lab_model_runs(model))),
        params:
            model=model,
            runs=lab_job_runs(model),
        script:
            "../scripts/train_longdep.py"


rule summarise_longdep:
    input:
        metrics=all_lab_run_paths("metrics"),
        gradients=all_lab_run_paths("gradients"),
        gates=all_lab_run_paths("gates"),
    output:
        **{name: lab_summary_path(name) for name in ("summary", "gradients", "decay", "settings")},
        gradient_plot=report(
            lab_summary_path("gradient_plot"),
            caption="../report/longdep_gradients.rst",
            category="Long-range dependencies",
        ),
        gate_plot=report(
            lab_summary_path("gate_plot"),
            caption="../report/longdep_gates.rst",
            category="Long-range dependencies",
        ),
    log:
        "logs/summarise_longdep/summarise_longdep.log",
    benchmark:
        "results/benchmarks/summarise_longdep/summarise_longdep.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("summarise", threads=1),
    params:
        settings={key: config["longdep"][key] for key in ("tasks", "training", "sizes")},
    script:
        "../scripts/summarise_longdep.py"


rule write_lab_report:
    input:
        **{name: lab_summary_path(name) for name in ("summary", "decay", "gradient_plot", "gate_plot", "settings")},
    output:
        html=report(report_path("lab"), caption="../report/longdep_page.rst", category="Long-range dependencies"),
    log:
        "logs/write_lab_report/write_lab_report.log",
    benchmark:
        "results/benchmarks/write_lab_report/write_lab_report.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("report", threads=1),
    script:
        "../scripts/write_lab_report.py"


# The whole lab and its page of the report: `snakemake --cores 2 longdep`.
rule longdep:
    input:
        report_path("lab"),
