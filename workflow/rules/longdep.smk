# The long-dependency lab (`snakemake --cores 2 longdep`): generated tasks where only the gap length T
# changes; MLP, tanh RNN and LSTM per task, T and seed, plus the LSTM ablations; see README.md.
rule generate_longdep_data:
    output:
        LONGDEP_DATA,
    log:
        "logs/generate_longdep_data/{task}/T{T}/seed{seed}.log",
    benchmark:
        "results/benchmarks/generate_longdep_data/{task}/T{T}/seed{seed}.tsv"
    params:
        sizes=config["longdep"]["sizes"],
    resources:
        **job_resources("generate", threads=1),
    conda:
        "../../environment.yml"
    script:
        "../scripts/generate_longdep_data.py"


# One rule per model, as for the datasets; the ablations are LSTM rules with their own model name.
rule train_longdep_mlp:
    input:
        data=LONGDEP_DATA,
    output:
        **longdep_run_outputs("mlp"),
    log:
        "logs/train_longdep_mlp/{task}/T{T}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_longdep_mlp/{task}/T{T}/seed{seed}.tsv"
    params:
        model="mlp",
        settings=longdep_settings,
    threads: config["threads"]["train"]
    resources:
        **job_resources("train", threads=config["threads"]["train"]),
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_longdep.py"


use rule train_longdep_mlp as train_longdep_rnn with:
    output:
        **longdep_run_outputs("rnn"),
    log:
        "logs/train_longdep_rnn/{task}/T{T}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_longdep_rnn/{task}/T{T}/seed{seed}.tsv"
    params:
        model="rnn",
        settings=longdep_settings,


use rule train_longdep_mlp as train_longdep_lstm with:
    output:
        **longdep_run_outputs("lstm"),
    log:
        "logs/train_longdep_lstm/{task}/T{T}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_longdep_lstm/{task}/T{T}/seed{seed}.tsv"
    params:
        model="lstm",
        settings=longdep_settings,


use rule train_longdep_mlp as train_longdep_lstm_forget_bias0 with:
    output:
        **longdep_run_outputs("lstm_forget_bias0"),
    log:
        "logs/train_longdep_lstm_forget_bias0/{task}/T{T}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_longdep_lstm_forget_bias0/{task}/T{T}/seed{seed}.tsv"
    params:
        model="lstm_forget_bias0",
        settings=longdep_settings,


use rule train_longdep_mlp as train_longdep_lstm_no_forget_gate with:
    output:
        **longdep_run_outputs("lstm_no_forget_gate"),
    log:
        "logs/train_longdep_lstm_no_forget_gate/{task}/T{T}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_longdep_lstm_no_forget_gate/{task}/T{T}/seed{seed}.tsv"
    params:
        model="lstm_no_forget_gate",
        settings=longdep_settings,


rule summarise_longdep:
    input:
        metrics=longdep_outputs("metrics"),
        gradients=longdep_outputs("gradients"),
        gates=longdep_outputs("gates"),
    output:
        summary="results/longdep/summary.csv",
        gradients="results/longdep/gradient_norms.csv",
        decay="results/longdep/decay_rates.csv",
        gradient_plot=report(
            "results/longdep/gradient_norms.png",
            caption="../report/longdep_gradients.rst",
            category="Long-range dependencies",
        ),
        gate_plot=report(
            "results/longdep/gates.png",
            caption="../report/longdep_gates.rst",
            category="Long-range dependencies",
        ),
        settings="results/longdep/settings.json",
    log:
        "logs/summarise_longdep/summarise_longdep.log",
    benchmark:
        "results/benchmarks/summarise_longdep/summarise_longdep.tsv"
    params:
        settings={key: config["longdep"][key] for key in ("tasks", "training", "sizes")},
    resources:
        **job_resources("summarise", threads=1),
    conda:
        "../../environment.yml"
    script:
        "../scripts/summarise_longdep.py"


# The whole lab and the report with its section: `snakemake --cores 2 longdep`.
rule longdep:
    input:
        rules.summarise_longdep.output,
        "results/report/index.html",
