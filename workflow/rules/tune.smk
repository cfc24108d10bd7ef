# The tuning target (`snakemake --cores 2 tune`): per compared dataset and model, one MLflow parent run, the same
# number of random-search trials as its child runs (validation only; one job trains a search's trials, one after
# another), the best trial's settings trained on tune.seeds, and the tuning page.


rule open_search:
    input:
        features=rules.extract_features.output,
    output:
        search_path("search"),
    log:
        "logs/open_search/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/open_search/{dataset}/{model}.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("report", threads=1),
    params:
        trials=search_trials,
        space=lambda wildcards: config["tune"]["space"][DATASETS[wildcards.dataset].kind][wildcards.model],
        trial_seed=config["tune"]["trial_seed"],
    script:
        "../scripts/open_search.py"


rule tune_trials:
    input:
        features=rules.extract_features.output,
        search=search_path("search"),
    output:
        trial_job_outputs(trial_jobs()),
    log:
        f"logs/tune_trials/{trial_job_name(trial_jobs())}.log",
    benchmark:
        f"results/benchmarks/tune_trials/{trial_job_name(trial_jobs())}.tsv"
    conda:
        "../../environment.yml"
    threads: config["threads"]["train"]
    resources:
        **job_resources(
            "train", threads=config["threads"]["train"], device=config["device"], runs=len(trial_jobs() or [0])
        ),
    params:
        trials=trial_runs(trial_jobs()),
        seed=config["tune"]["trial_seed"],
    script:
        "../scripts/tune_trials.py"


rule close_search:
    input:
        search=search_path("search"),
        trials=search_trial_paths,
    output:
        search_path("chosen"),
    log:
        "logs/close_search/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/close_search/{dataset}/{model}.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("report", threads=1),
    script:
        "../scripts/close_search.py"


# One rule per model, as for the default settings' runs: a job trains every tune seed (one_job_per_seed: one).
for model in CHOICES:

    rule:
        name:
            f"train_tuned_{model}"
        input:
            features=rules.extract_features.output,
            chosen=search_path("chosen", model),
        output:
            seed_run_outputs(tuned_run_path, model, tuned_seeds()),
        log:
            f"logs/train_tuned_{model}/{seed_job_name(tuned_seeds())}.log",
        benchmark:
            f"results/benchmarks/train_tuned_{model}/{seed_job_name(tuned_seeds())}.tsv"
        conda:
            "../../environment.yml"
        threads: config["threads"]["train"]
        resources:
            **job_resources(
                "train", threads=config["threads"]["train"], device=config["device"], runs=len(tuned_seeds() or [0])
            ),
        params:
            model=model,
            runs=seed_runs(tuned_run_path, model, tuned_seeds()),
        script:
            "../scripts/train_tuned.py"


rule write_tuning_report:
    input:
        searches=[search_path("chosen", m, d) for m, d in itertools.product(config["models"], registered_datasets())],
        tuned_metrics=all_tuned_run_paths("metrics"),
        tuned_predictions=all_tuned_run_paths("predictions"),
        # the default settings on the tuned runs' seeds, so that both sides of a verdict rest on the same seeds
        default_metrics=all_run_paths("metrics", registered_datasets(), config["tune"]["seeds"]),
        default_predictions=all_run_paths("predictions", registered_datasets(), config["tune"]["seeds"]),
        features=[feature_path("meta", dataset) for dataset in registered_datasets()],
    output:
        html=report(report_path("tuning"), caption="../report/tuning.rst", category="Tuning"),
        summary=report_path("tuned_summary"),
    log:
        "logs/write_tuning_report/write_tuning_report.log",
    benchmark:
        "results/benchmarks/write_tuning_report/write_tuning_report.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("report", threads=1),
    params:
        credits=dataset_credits(),
        settings={key: config["tune"][key] for key in ("trials", "draw_seed", "trial_seed", "seeds")},
    script:
        "../scripts/write_tuning_report.py"


# Seconds of work each, between the trials and the tuned runs: not worth a cluster job.
localrules:
    open_search,
    close_search,
    write_tuning_report,


rule tune:
    input:
        report_path("tuning"),
