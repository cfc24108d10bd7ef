"""Entry points of the workflow's steps: read inputs, call the package's functions, write outputs."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqsuite.config import from_config
from seqsuite.data.download import fetch_dataset
from seqsuite.data.loaders import SPLITS, carve_validation, check_splits, load_examples
from seqsuite.data.registry import spec_from_dict
from seqsuite.features.speech import SpeechFeatureConfig
from seqsuite.features.store import (
    FeatureSet,
    build_speech_features,
    build_text_features,
    load_features,
    save_features,
)
from seqsuite.models import ArchitectureConfig, InputSpec, build_model, count_parameters
from seqsuite.training import (
    Evaluation,
    FitResult,
    NonFiniteLossError,
    OptimConfig,
    SequenceData,
    TabularData,
    evaluate,
    fit,
    resolve_device,
    seed_everything,
)

log = logging.getLogger("seqsuite")


@contextlib.contextmanager
def logged_step(log_path: str) -> Iterator[None]:
    """Send a step's logging and warnings to its log file; show an error on the console as well."""
    console, handle = sys.stderr, open(log_path, "w", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    try:
        yield
    except BaseException as error:
        traceback.print_exc(file=handle)
        print(f"seqsuite: {type(error).__name__}: {error}\n(full traceback in {log_path})", file=console)
        raise
    finally:
        sys.stderr = console
        handle.close()


def download(entry: dict[str, Any], dest: Path, provenance: Path, mirror: str | None) -> None:
    """Fetch and verify one dataset into dest; record where it came from and its manifest digest."""
    spec = spec_from_dict(entry.pop("name"), entry)
    info = fetch_dataset(spec, dest, mirror)
    provenance.write_text(json.dumps({**info, "url": spec.url or spec.path}, indent=1))
    log.info("dataset %s from %s verified (manifest sha256 %s)", spec.name, info["source"], info["manifest_sha256"])


def extract(entry: dict[str, Any], dataset_dir: Path, provenance: Path, out_dir: Path, settings: dict[str, Any],
            split_seed: int, val_fraction: float, threads: int) -> None:
    """Read a dataset, carve validation from train, build its features and write them."""
    torch.set_num_threads(threads)
    spec = spec_from_dict(entry.pop("name"), entry)
    frame = carve_validation(load_examples(spec, dataset_dir, split_seed), val_fraction, split_seed)
    check_splits(spec.name, frame, spec.split)
    if spec.kind == "speech":
        features = build_speech_features(frame, dataset_dir, SpeechFeatureConfig(**settings))
    else:
        features = build_text_features(frame, **settings)
    fetched = json.loads(provenance.read_text())
    features.meta.update(
        dataset=spec.name,
        settings=settings,
        source=fetched["url"],
        manifest_sha256=fetched["manifest_sha256"],
    )
    save_features(features, out_dir)
    log.info("%s: %s", spec.name, {k: v for k, v in features.meta.items() if k.startswith("n_")})


def _model_data(model: str, features: FeatureSet) -> dict[str, Any]:
    """Each split as the model reads it: sparse rows for the MLP, sequences for RNN and LSTM."""
    data = {}
    for s in SPLITS:
        split = features.splits[s]
        labels = torch.from_numpy(split.labels)
        if model == "mlp":
            data[s] = TabularData(split.tabular, labels)
        else:
            data[s] = SequenceData([torch.from_numpy(x) for x in split.sequences], labels,
                                   pad_value=features.meta["pad_index"])
    return data


def _input_example(data: Any) -> np.ndarray:
    """One test example in the shape the model's forward takes (batch of one)."""
    inputs, _ = data.batch(np.array([0]))
    return inputs[0].numpy()


def _predictions_frame(evaluation: Evaluation, features: FeatureSet) -> pd.DataFrame:
    """Test-set targets and predictions with each input's length (frames or tokens)."""
    test = features.splits["test"]
    return pd.DataFrame({
        "index": np.arange(len(test.labels)),
        "target": test.labels,
        "prediction": evaluation.predictions,
        "length": [len(x) for x in test.sequences],
    })


@dataclass
class TrainedModel:
    """A fitted model with its history, the data it read and its validation and test evaluations."""

    model: torch.nn.Module
    fitted: FitResult
    data: dict[str, Any]
    evaluations: dict[str, Evaluation]


def fit_model(features: FeatureSet, model_name: str, seed: int, hyperparameters: dict[str, Any],
              device: torch.device, on_epoch: Callable[[dict[str, float]], None] | None = None) -> TrainedModel:
    """Build, fit and evaluate one model on one dataset's features with one seed."""
    meta = features.meta
    seed_everything(seed)
    inputs = InputSpec(n_classes=len(meta["labels"]), vocab_size=meta["vocab_size"],
                       sequence_dim=meta["sequence_dim"], tabular_dim=meta["tabular_dim"],
                       pad_index=meta["pad_index"])
    model = build_model(model_name, inputs, from_config(ArchitectureConfig, hyperparameters))
    optim = from_config(OptimConfig, hyperparameters)
    data = _model_data(model_name, features)
    try:
        fitted = fit(model, data["train"], data["val"], optim, seed, device, on_epoch=on_epoch)
    except NonFiniteLossError as error:
        raise NonFiniteLossError(f"{model_name} on {meta['dataset']}, seed {seed}: {error} "
                                 f"(training.{meta['kind']}.{model_name} in config/config.yaml)") from error
    evaluations = {s: evaluate(model, data[s], optim.batch_size, device) for s in ("val", "test")}
    return TrainedModel(model, fitted, data, evaluations)


def train(features_dir: Path, model_name: str, seed: int, hyperparameters: dict[str, Any],
          outputs: dict[str, str], device: str, threads: int, tracking: dict[str, Any],
          rule: str, workflow_dir: Path) -> None:
    """Train one model on one dataset with one seed, log it to MLflow and write its outputs."""
    from seqsuite import tracking as mlflow_tracking
    from seqsuite.report.plots import confusion_matrix_png, learning_curves_png

    torch.set_num_threads(threads)
    features = load_features(features_dir)
    meta = features.meta
    dataset = meta["dataset"]
    torch_device = resolve_device(device)
    params = {"model": model_name, "seed": seed, "device": str(torch_device), **hyperparameters,
              **{f"features.{k}": v for k, v in meta["settings"].items()},
              **{k: meta[k] for k in ("n_train", "n_val", "n_test")}}
    tags = mlflow_tracking.run_tags(rule, "workflow/rules/train.smk", workflow_dir,
                                    dataset=dataset, model=model_name, seed=str(seed))
    with mlflow_tracking.training_run(tracking["tracking_uri"], tracking["artifact_root"], dataset,
                                      f"{model_name}-seed{seed}", params, tags,
                                      tracking["server_wait_s"]) as logger:
        logger.log_dataset(dataset, meta["source"], meta["manifest_sha256"])
        trained = fit_model(features, model_name, seed, hyperparameters, torch_device, logger.log_epoch)
        fitted, model = trained.fitted, trained.model
        n_params = count_parameters(model)
        results = {s: e.metrics() for s, e in trained.evaluations.items()}
        # best_val_*, not val_*: the per-epoch validation curve already owns those keys
        logger.log_results({"best_val": results["val"], "test": results["test"]},
                           {"train_seconds": fitted.train_seconds, "n_params": n_params,
                            "best_epoch": fitted.best_epoch})
        run = {"dataset": dataset, "model": model_name, "seed": seed, "run_id": logger.run_id,
               "experiment_id": logger.experiment_id, "n_params": n_params,
               "train_seconds": fitted.train_seconds, "best_epoch": fitted.best_epoch,
               "epochs_run": len(fitted.history), "labels": meta["labels"], "metrics": results,
               "history": fitted.history, "hyperparameters": hyperparameters}
        predictions = _predictions_frame(trained.evaluations["test"], features)
        logger.log_png("learning_curves.png", learning_curves_png([run], dataset))
        logger.log_png("confusion_matrix.png", confusion_matrix_png(
            predictions, meta["labels"], title=f"{dataset}: {model_name}, seed {seed}"))
        model.cpu()
        logger.log_model(model, _input_example(trained.data["test"]), [f"torch=={torch.__version__}"])
        torch.save(model.state_dict(), outputs["checkpoint"])
        predictions.to_csv(outputs["predictions"], index=False)
        Path(outputs["metrics"]).write_text(json.dumps(run, indent=1))
    log.info("%s %s seed %d: test accuracy %.4f", dataset, model_name, seed, results["test"]["accuracy"])


def report(metrics: list[str], predictions: list[str], feature_metas: list[str], credits: dict[str, dict[str, str]],
           html: Path, summary: Path, tracking_uri: str, lab: dict[str, Any] | None = None) -> None:
    """Write the comparison report and the long-form summary table, run ids linked to the MLflow UI.

    lab, where given, holds the paths of the long-dependency lab's summary (summary, decay, gradient_plot,
    gate_plot and settings, as summarise_longdep writes them); the report then ends with its section.
    """
    from seqsuite.report import MLFLOW_UI, write_report

    dataset_info = {}
    for path in feature_metas:
        meta = json.loads(Path(path).read_text())
        dataset_info[meta["dataset"]] = {
            key: meta[key] for key in ("kind", "n_train", "n_val", "n_test")
        } | {"n_classes": len(meta["labels"])} | credits[meta["dataset"]]
    lab_section = ""
    if lab:
        from seqsuite.longdep.report import lab_section as render_lab_section

        lab_section = render_lab_section(pd.read_csv(lab["summary"]), pd.read_csv(lab["decay"]),
                                         Path(lab["gradient_plot"]).read_bytes(), Path(lab["gate_plot"]).read_bytes(),
                                         json.loads(Path(lab["settings"]).read_text()))
    # a tracking server serves its own UI; an SQLite store is browsed with `mlflow ui` on its default port
    ui = tracking_uri.rstrip("/") if tracking_uri.startswith("http") else MLFLOW_UI
    write_report([Path(p) for p in metrics], [Path(p) for p in predictions], dataset_info, html, summary, ui,
                 lab_section)
