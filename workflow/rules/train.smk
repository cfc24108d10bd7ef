# One rule per model of the registry (train_mlp, train_rnn, train_lstm, ...), so each can be run,
# scheduled and given resources on its own.
for model in CHOICES:

    rule:
        name:
            f"train_{model}"
        input:
            features=rules.extract_features.output,
        output:
            **run_outputs(model),
        log:
            f"logs/train_{model}/{{dataset}}/seed{{seed}}.log",
        benchmark:
            f"results/benchmarks/train_{model}/{{dataset}}/seed{{seed}}.tsv"
        conda:
            "../../environment.yml"
        threads: config["threads"]["train"]
        resources:
            **job_resources("train", threads=config["threads"]["train"], device=config["device"]),
        params:
            model=model,
            hyperparameters=training_settings(model),
        script:
            "../scripts/train.py"
