# Three rules, one per model, so each can be run, scheduled and given resources on its own;
# train_rnn and train_lstm reuse train_mlp's definition with their own outputs and settings.
rule train_mlp:
    input:
        features=rules.extract_features.output,
    output:
        **run_outputs("mlp"),
    log:
        "logs/train_mlp/{dataset}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_mlp/{dataset}/seed{seed}.tsv"
    params:
        model="mlp",
        hyperparameters=training_settings("mlp"),
    threads: config["threads"]["train"]
    resources:
        **job_resources("train", threads=config["threads"]["train"], device=config["device"]),
    conda:
        "../../environment.yml"
    script:
        "../scripts/train.py"


use rule train_mlp as train_rnn with:
    output:
        **run_outputs("rnn"),
    log:
        "logs/train_rnn/{dataset}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_rnn/{dataset}/seed{seed}.tsv"
    params:
        model="rnn",
        hyperparameters=training_settings("rnn"),


use rule train_mlp as train_lstm with:
    output:
        **run_outputs("lstm"),
    log:
        "logs/train_lstm/{dataset}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_lstm/{dataset}/seed{seed}.tsv"
    params:
        model="lstm",
        hyperparameters=training_settings("lstm"),
