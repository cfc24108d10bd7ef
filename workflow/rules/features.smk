rule extract_features:
    input:
        unpack(downloaded),
    output:
        **{name: feature_path(name) for name in FEATURE_FILES},
    log:
        "logs/extract_features/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_features/{dataset}.tsv"
    conda:
        "../../environment.yml"
    threads: config["threads"]["extract_features"]
    resources:
        **job_resources("features", threads=config["threads"]["extract_features"]),
    params:
        spec=registry_fields(READING_FIELDS),
        settings=feature_settings,
        split_seed=config["split_seed"],
        val_fraction=config["val_fraction"],
    script:
        "../scripts/extract_features.py"
