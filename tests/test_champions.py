"""Each dataset's best model is registered as models:/seqsuite-<dataset>@champion and labels raw input where no
copy of seqsuite exists, in Python and through `mlflow models serve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from conftest import REPO, free_port, run_outside_checkout, snakemake

from seqsuite.report.summary import summary_frame
from seqsuite.steps.champions import champions

PREDICT = """
import json
import mlflow, pandas as pd
uri, model, rows = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
mlflow.set_tracking_uri(uri)
predicted = mlflow.pyfunc.load_model(model).predict(rows if isinstance(rows, list) else pd.DataFrame(rows))
print(json.dumps({"labels": predicted["label"].tolist(), "probability": predicted["probability"].tolist(),
                  "seqsuite": sys.modules["seqsuite"].__file__}))
"""

def test_a_diverged_run_is_never_the_champion_and_a_dataset_whose_runs_all_diverged_has_none(caplog):
    def run(dataset: str, model: str, seed: int, val: float, test: float, diverged: str | None = None) -> dict:
        return {"dataset": dataset, "model": model, "seed": seed, "run_id": f"{dataset}-{model}-{seed}",
                "model_uri": f"models:/m-{dataset}{model}{seed}", "n_params": 10, "train_seconds": 1.0,
                "labels": ["a", "b"], "history": [], "diverged": diverged,
                "metrics": {split: {"accuracy": value, "macro_f1": value, "loss": 0.5}
                            for split, value in (("val", val), ("test", test))}}

    runs = [run("d", "lstm", 0, 0.80, 0.81), run("d", "lstm", 1, 0.99, 0.5, diverged="loss 1e9"),
            run("d", "lstm", 2, 0.85, 0.83), run("d", "mlp", 0, 0.90, 0.70), run("e", "rnn", 0, 0.5, 0.5, "nan")]
    summary = summary_frame([r for r in runs if not r["diverged"]])  # as the report writes it
    chosen = champions(runs, summary)
    assert [(c["dataset"], c["model"], c["seed"]) for c in chosen] == [("d", "lstm", 2)]
    assert "over 2 seed(s)" in chosen[0]["description"]
    assert "e: no model registered: every run diverged" in caplog.text


def tracking_uri(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'results' / 'mlflow.db'}"


def a_digit_recording(workdir: Path) -> str:
    return str(sorted((workdir / "mirror" / "digits" / "recordings").glob("2_*.wav"))[0])


def raw_inputs(workdir: Path) -> dict[str, list | dict]:
    """Per dataset, raw input as a user has it: sentences, or a WAV file's path."""
    sentences = ["the film was superb", "an awful and dull plot"]
    return {"polarity": sentences, "reviews": sentences, "digits": {"path": [a_digit_recording(workdir)]}}


@pytest.mark.slow
def test_each_dataset_best_model_is_the_champion(finished_workflow):
    workdir, result = finished_workflow
    assert result.returncode == 0, result.stderr[-3000:]
    champions = json.loads((workdir / "results" / "report" / "champions.json").read_text())
    summary = pd.read_csv(workdir / "results" / "report" / "summary.csv")
    test = summary.query("split == 'test' and metric == 'accuracy'")
    client = mlflow.MlflowClient(tracking_uri(workdir))
    assert sorted(c["dataset"] for c in champions) == ["digits", "polarity", "reviews"]
    for chosen in champions:
        means = test[test.dataset == chosen["dataset"]].groupby("model")["value"].mean()
        assert means[chosen["model"]] == means.max()
        version = client.get_model_version_by_alias(f"seqsuite-{chosen['dataset']}", "champion")
        metrics = json.loads((workdir / "results" / "models" / chosen["model"] / chosen["dataset"] /
                              f"seed{chosen['seed']}" / "metrics.json").read_text())
        assert version.source == metrics["model_uri"] and version.run_id == metrics["run_id"]
        assert chosen["model"] in version.description
    again = snakemake(workdir, "--cores", "1", "--forcerun", "register_models")
    assert again.returncode == 0, again.stderr[-3000:]
    for chosen in champions:  # registering again makes no new version
        assert len(client.search_model_versions(f"name = 'seqsuite-{chosen['dataset']}'")) == 1


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["polarity", "digits"])
def test_a_champion_labels_raw_input_where_no_copy_of_seqsuite_exists(finished_workflow, tmp_path, dataset):
    workdir, _ = finished_workflow
    rows = raw_inputs(workdir)[dataset]
    done = run_outside_checkout(PREDICT, tmp_path, tracking_uri(workdir), f"models:/seqsuite-{dataset}@champion",
                                json.dumps(rows))
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    labels = json.loads((workdir / "results" / "features" / dataset / "meta.json").read_text())["labels"]
    assert len(out["labels"]) == len(rows if isinstance(rows, list) else rows["path"])
    assert set(out["labels"]) <= set(labels) and all(0 < p <= 1 for p in out["probability"])
    # the classes came with the model: from its code/ folder, downloaded from the store, not from the checkout
    assert not out["seqsuite"].startswith(str(REPO)) and "/code/seqsuite/" in out["seqsuite"]


def invocation(server: subprocess.Popen, base: str, body: dict, deadline: float) -> dict:
    """POST /invocations, once the server answers /ping."""
    while True:
        try:
            urllib.request.urlopen(f"{base}/ping", timeout=5)
            break
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None:
                pytest.fail(f"mlflow models serve exited with status {server.returncode}: {server.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow models serve on {base} did not answer /ping in time")
            time.sleep(1)
    request = urllib.request.Request(f"{base}/invocations", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["polarity", "digits"])
def test_mlflow_models_serve_answers_with_labels(finished_workflow, tmp_path, dataset):
    workdir, _ = finished_workflow
    rows = raw_inputs(workdir)[dataset]
    body = {"inputs": rows} if isinstance(rows, list) else {"dataframe_records": [{"path": p} for p in rows["path"]]}
    port = free_port()
    # it starts uvicorn by name, from the environment's bin folder, as in an activated venv
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(workdir),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m",
                               f"models:/seqsuite-{dataset}@champion", "--env-manager", "local", "-h", "127.0.0.1",
                               "-p", str(port)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        answer = invocation(server, f"http://127.0.0.1:{port}", body, time.monotonic() + 120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    labels = json.loads((workdir / "results" / "features" / dataset / "meta.json").read_text())["labels"]
    predictions = answer["predictions"]
    assert len(predictions) == len(body.get("inputs") or body["dataframe_records"])
    for row in predictions:
        assert row["label"] in labels and set(row["probabilities"]) == set(labels)
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-5
