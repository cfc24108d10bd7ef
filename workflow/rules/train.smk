# One rule per model of the registry (train_mlp, train_rnn, train_lstm, ...), so each can be run,
# scheduled and given resources on its own. A job trains its model on one dataset for every seed, one run after
# another in one process: a process's start-up costs more than a small run's training (README, "Where the time
# goes"); the tune seeds not among `seeds` are jobs of their own (train_<model>_tune_seeds), for the tuning page.
# With one_job_per_seed, a job per seed.
for model, (suffix, seeds) in itertools.product(CHOICES, default_seed_jobs().items()):

    rule:
        name:
            f"train_{model}{suffix}"
        input:
            features=rules.extract_features.output,
        output:
            seed_run_outputs(run_path, model, seeds),
        log:
            f"logs/train_{model}{suffix}/{seed_job_name(seeds)}.log",
        benchmark:
            f"results/benchmarks/train_{model}{suffix}/{seed_job_name(seeds)}.tsv"
        conda:
            "../../environment.yml"
        threads: config["threads"]["train"]
        resources:
            **job_resources(
                "train", threads=config["threads"]["train"], device=config["device"], runs=len(seeds or [0])
            ),
        params:
            model=model,
            hyperparameters=training_settings(model),
            runs=seed_runs(run_path, model, seeds),
        script:
            "../scripts/train.py"
