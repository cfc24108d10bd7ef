rule download_dataset:
    input:
        custom_dataset_files,
    output:
        files=directory(dataset_folder()),
        provenance=provenance_path(),
    log:
        "logs/download_dataset/{download}.log",
    benchmark:
        "results/benchmarks/download_dataset/{download}.tsv"
    conda:
        "../../environment.yml"
    resources:
        **job_resources("download", threads=1),
    params:
        spec=registry_fields(("name", *DOWNLOAD_FIELDS), "download"),
    script:
        "../scripts/download_dataset.py"
