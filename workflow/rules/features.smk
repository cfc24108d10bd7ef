rule extract_features:
    input:
        files="resources/datasets/{dataset}",
        provenance="resources/datasets/{dataset}.json",
    output:
        sequences="results/features/{dataset}/sequences.npz",
        tabular="results/features/{dataset}/tabular.npz",
        meta="results/features/{dataset}/meta.json",
    log:
        "logs/extract_features/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_features/{dataset}.tsv"
    params:
        spec=registry_fields(READING_FIELDS),
        settings=feature_settings,
        split_seed=config["split_seed"],
        val_fraction=config["val_fraction"],
    threads: config["threads"]["extract_features"]
    resources:
        **job_resources("features", threads=config["threads"]["extract_features"]),
    conda:
        "../../environment.yml"
    script:
        "../scripts/extract_features.py"
