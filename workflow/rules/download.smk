rule download_dataset:
    input:
        custom_dataset_files,
    output:
        files=directory(dataset_folder()),
        provenance=provenance_path(),
    log:
        "logs/download_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/download_dataset/{dataset}.tsv"
    params:
        spec=registry_fields(DOWNLOAD_FIELDS),
    resources:
        **job_resources("download", threads=1),
    conda:
        "../../environment.yml"
    script:
        "../scripts/download_dataset.py"
