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
    conda:
        "../../environment.yml"
    resources:
        **job_resources("download", threads=1),
    params:
        spec=registry_fields(DOWNLOAD_FIELDS),
    script:
        "../scripts/download_dataset.py"
