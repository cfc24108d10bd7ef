"""The registry step: each dataset's best model, registered in the MLflow Model Registry as seqsuite-<dataset>
with the alias champion, so that `models:/seqsuite-mr@champion` names it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from seqsuite import tracking
from seqsuite.files import atomic_path
from seqsuite.report.summary import best_model, best_run

log = logging.getLogger("seqsuite")


def champion(runs: list[dict[str, Any]], summary: pd.DataFrame, dataset: str) -> dict[str, Any]:
    """The report's best model on a dataset (highest mean test accuracy), and of its seeds the run with the
    highest validation accuracy: the test set chooses the kind of model, not the weights."""
    model = best_model(summary, dataset)
    run = best_run(runs, dataset, model)
    seeds = sum(1 for r in runs if r["dataset"] == dataset and r["model"] == model)
    return {"dataset": dataset, "name": f"seqsuite-{dataset}", "model": model, "seed": run["seed"],
            "run_id": run["run_id"], "model_uri": run["model_uri"],
            "description": f"{model} on {dataset}, seed {run['seed']}: the model with the highest mean test "
                           f"accuracy over {seeds} seed(s), and of its seeds the best on validation "
                           f"(validation accuracy {run['metrics']['val']['accuracy']:.4f}, test "
                           f"{run['metrics']['test']['accuracy']:.4f})"}


def champions(runs: list[dict[str, Any]], summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Every dataset's champion. Diverged runs, which the report leaves out, are not candidates; a dataset whose
    runs all diverged has none, and a warning says so."""
    usable = [run for run in runs if not run.get("diverged")]
    chosen = []
    for dataset in sorted({str(run["dataset"]) for run in runs}):
        if any(str(run["dataset"]) == dataset for run in usable):
            chosen.append(champion(usable, summary, dataset))
        else:
            log.warning("%s: no model registered: every run diverged (the report names them)", dataset)
    return chosen


def register_champions(metrics: list[str], summary: Path, out: Path, settings: dict[str, Any]) -> None:
    """Register every dataset's champion (config's mlflow settings) and list them in out (JSON)."""
    runs = [json.loads(Path(path).read_text()) for path in metrics]
    registered = []
    for chosen in champions(runs, pd.read_csv(summary)):
        version = tracking.register_champion(settings["tracking_uri"], chosen["name"], chosen["model_uri"],
                                             chosen["description"], settings["server_wait_s"])
        uri = f"models:/{chosen['name']}@{tracking.CHAMPION}"
        registered.append({**chosen, "version": version, "uri": uri})
        log.info("%s is %s version %d: %s", uri, chosen["name"], version, chosen["description"])
    with atomic_path(out) as partial:
        partial.write_text(json.dumps(registered, indent=1))
