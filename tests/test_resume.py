"""Resumable training: a run stopped mid-round (SIGTERM, Ctrl-C) or between rounds (a killed job) and resumed from its
checkpoint ends exactly as the uninterrupted run, on the CPU; a checkpoint of other settings is ignored."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
import yaml
from conftest import REPO, SNAKEMAKE, small_disk, snakemake, tiny_config, tiny_registry, unhandled
from mlflow.entities import ViewType
from scipy import sparse
from test_training import fit_sum, order_task, validation

from seqsuite.checkpoint import (
    Checkpoint,
    StoppedBySignal,
    TrainingInterrupted,
    fingerprint,
    handling,
    input_stamp,
    stop_on_signals,
)
from seqsuite.features.store import FeatureSet, SplitFeatures, save_features
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model
from seqsuite.policies import Patience
from seqsuite.steps.lab_data import generate_data
from seqsuite.steps.logs import logged_step
from seqsuite.steps.tune import TrialRun, open_search, train_trials
from seqsuite.training import Objective, OptimConfig, fit, seed_everything

CPU = torch.device("cpu")


class StopAfter:
    """A stop request that SIGTERM would set, set here after a number of updates."""

    signum = signal.SIGTERM
    signal_name = "SIGTERM"

    def __init__(self, updates: int) -> None:
        self.left, self.training = updates, False

    @property
    def requested(self) -> bool:
        self.left -= 1
        return self.left < 0


def train_lstm(checkpoint: Checkpoint | None = None, on_record=None):
    """An LSTM with dropout (so the global torch generator matters) on a task that needs memory."""
    seed_everything(5)
    model = build_model("lstm", InputSpec(n_outputs=2, sequence_dim=2),
                        ArchitectureConfig(hidden_size=16, readout="last", dropout=0.3))
    result = fit(model, order_task(256, 0), validation(order_task(64, 1)), Objective(), OptimConfig(lr=0.01),
                 Patience(5, 5), 5, CPU, on_record, checkpoint)
    return model, result


def same(first: tuple[torch.nn.Module, object], second: tuple[torch.nn.Module, object]) -> None:
    (model_a, result_a), (model_b, result_b) = first, second
    assert result_a.history == result_b.history and result_a.kept_round == result_b.kept_round
    assert result_a.updates == result_b.updates
    assert all(torch.equal(a, b) for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values(),
                                                 strict=True))


def test_stopped_mid_epoch_and_resumed_equals_uninterrupted(tmp_path):
    uninterrupted = train_lstm()
    path = tmp_path / "resume.pt"
    with pytest.raises(TrainingInterrupted, match=r"after update 11 \(epoch 2\).*rerun to resume"):
        train_lstm(Checkpoint(path, "run", StopAfter(10)))
    assert path.exists() and not list(tmp_path.glob(".*partial*"))
    resumed = train_lstm(Checkpoint(path, "run"))
    same(resumed, uninterrupted)


def test_ctrl_c_while_training_stops_after_the_update_under_way_and_saves_its_state(tmp_path):
    uninterrupted = train_lstm()
    path = tmp_path / "resume.pt"

    def ctrl_c_after_epoch_1(record):
        if record["epoch"] == 1:
            signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as a job in a terminal has it
    try:
        with stop_on_signals() as request, pytest.raises(TrainingInterrupted) as stopped:
            train_lstm(Checkpoint(path, "run", request), on_record=ctrl_c_after_epoch_1)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert re.fullmatch(r"stopped by SIGINT after update \d+ \(epoch 2\); its state is saved in .*resume.pt: rerun "
                        r"to resume from there", str(stopped.value))
    assert stopped.value.exit_status == 128 + signal.SIGINT
    assert torch.load(path, weights_only=False)["progress"]["batches_done"] == 1  # epoch 2's first update
    same(train_lstm(Checkpoint(path, "run")), uninterrupted)


def test_a_signal_during_the_last_rounds_validation_stops_the_job_and_the_rerun_finishes_from_there(tmp_path):
    uninterrupted = train_lstm()
    last = len(uninterrupted[1].history)
    path = tmp_path / "resume.pt"

    def sigterm_in_the_last_round(record):
        if record["epoch"] == last:  # after its updates: no update would see the request
            signal.raise_signal(signal.SIGTERM)

    with stop_on_signals() as request, pytest.raises(TrainingInterrupted, match=f"stopped by SIGTERM after its "
                                                     rf"last round \(epoch {last}, update \d+\)"):
        train_lstm(Checkpoint(path, "run", request), on_record=sigterm_in_the_last_round)
    resumed_records = []
    same(train_lstm(Checkpoint(path, "run"), on_record=resumed_records.append), uninterrupted)
    assert resumed_records == []  # nothing left to train


@pytest.mark.parametrize(("signum", "cause"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGHUP, "its terminal closed")],
                         ids=["SIGINT", "SIGHUP"])
def test_ctrl_c_or_a_closed_terminal_stops_at_once_outside_training_and_after_the_update_inside(signum, cause):
    with handling([signum], unhandled):  # as the job got it from its parent
        with stop_on_signals() as request:
            with pytest.raises(StoppedBySignal, match=rf"stopped by {signum.name} \({cause}\); what it had finished "
                                                      "is kept: rerun to go on"):
                signal.raise_signal(signum)  # not training: nothing to save first
            request.training = True
            signal.raise_signal(signum)
            assert request.signal_name == signum.name
        assert signal.getsignal(signum) is unhandled


def test_a_second_ctrl_c_stops_at_once():
    with handling([signal.SIGINT], unhandled), stop_on_signals() as request:
        request.training = True
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(StoppedBySignal, match="stopped by SIGINT"):
            signal.raise_signal(signal.SIGINT)  # a user who does not want to wait for the update


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=["SIGINT", "SIGHUP"])
def test_a_job_started_ignoring_ctrl_c_or_a_closed_terminal_goes_on_ignoring_it(signum):
    with handling([signum], signal.SIG_IGN):  # `cmd &` in a script ignores SIGINT, `nohup snakemake ...` SIGHUP
        with stop_on_signals() as request:
            request.training = True
            signal.raise_signal(signum)
            assert not request.requested
        assert signal.getsignal(signum) == signal.SIG_IGN


class ClosedTerminal(io.TextIOBase):
    def write(self, text):
        raise OSError(errno.EIO, "Input/output error")


def test_a_job_whose_terminal_closed_writes_its_error_to_its_log_and_exits_with_the_signals_status(tmp_path,
                                                                                                   monkeypatch):
    monkeypatch.setattr(sys, "stderr", ClosedTerminal())
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as stopped, logged_step(str(log)):
        raise TrainingInterrupted("stopped by SIGHUP after update 69 (epoch 35)", signal.SIGHUP)
    assert stopped.value.code == 128 + signal.SIGHUP
    assert "TrainingInterrupted: stopped by SIGHUP after update 69 (epoch 35)" in log.read_text()


def test_killed_between_epochs_resumes_from_the_last_one_saved(tmp_path):
    uninterrupted = train_lstm()
    path = tmp_path / "resume.pt"

    def killed_in_epoch_3(record):
        if record["epoch"] == 3:
            raise KeyboardInterrupt  # as if the job died before epoch 3's state was saved

    with pytest.raises(KeyboardInterrupt):
        train_lstm(Checkpoint(path, "run"), on_record=killed_in_epoch_3)
    assert torch.load(path, weights_only=False)["progress"]["round"] == 2  # epochs 1 and 2 were saved
    resumed_records = []
    resumed = train_lstm(Checkpoint(path, "run"), on_record=resumed_records.append)
    same(resumed, uninterrupted)
    assert [r["epoch"] for r in resumed_records] == [3, 4, 5]


def test_budget_policy_resumes_mid_round_with_its_own_generator(tmp_path):
    uninterrupted = fit_sum(solved_at=0.0)
    path = tmp_path / "resume.pt"
    with pytest.raises(TrainingInterrupted, match=r"after update 97 \(step 120\)"):
        fit_sum(solved_at=0.0, checkpoint=Checkpoint(path, "lab", StopAfter(96)))
    resumed = fit_sum(solved_at=0.0, checkpoint=Checkpoint(path, "lab"))
    assert resumed.history == uninterrupted.history and resumed.updates == uninterrupted.updates == 250


def test_a_checkpoint_of_other_settings_is_ignored(tmp_path, caplog):
    path = tmp_path / "resume.pt"
    with pytest.raises(TrainingInterrupted):
        train_lstm(Checkpoint(path, fingerprint({"lr": 0.01}), StopAfter(3)))
    fresh = train_lstm(Checkpoint(path, fingerprint({"lr": 0.02})))
    same(fresh, train_lstm())
    assert "saved by a run with other settings" in caplog.text


def test_a_finished_runs_kept_outputs_are_restored_for_the_same_settings_inputs_and_code_only(tmp_path, caplog):
    features = tmp_path / "features"
    features.mkdir()
    (features / "meta.json").write_text("{}")
    outputs = {"metrics": str(tmp_path / "metrics.json"), "checkpoint": str(tmp_path / "model.pt")}
    Path(outputs["metrics"]).write_text('{"accuracy": 0.9}')
    Path(outputs["checkpoint"]).write_bytes(bytes(range(256)))
    stamp = input_stamp([features], "commit-a")
    Checkpoint(tmp_path / "resume.pt", fingerprint({"lr": 0.01})).keep_outputs(outputs, stamp)
    for path in outputs.values():  # as Snakemake deletes a failed job's outputs
        Path(path).unlink()

    def restored(settings, inputs=stamp, names=outputs):
        return Checkpoint(tmp_path / "resume.pt", fingerprint(settings)).restore_outputs(names, inputs)

    assert not restored({"lr": 0.02})
    assert not restored({"lr": 0.01}, input_stamp([features], "commit-b"))
    assert not restored({"lr": 0.01}, names={"metrics": outputs["metrics"]})
    assert not any(Path(path).exists() for path in outputs.values())
    assert "a finished run's copy from other inputs, code or outputs" in caplog.text
    assert restored({"lr": 0.01})
    assert Path(outputs["metrics"]).read_text() == '{"accuracy": 0.9}'
    assert Path(outputs["checkpoint"]).read_bytes() == bytes(range(256))
    (features / "meta.json").write_text('{"split_seed": 2}')  # the features rebuilt
    assert input_stamp([features], "commit-a") != stamp


LAB_JOB = """
import sys
from pathlib import Path
from seqsuite.steps.lab import train_lab_runs
folder = Path(sys.argv[1])
settings = {"hidden_size": 16, "mlp_hidden_sizes": [16], "lr": 0.01, "clip_norm": 1.0, "forget_bias": 1.0,
            "batch_size": 32, "max_updates": int(sys.argv[4]), "eval_every": 20}
outputs = {name: str(folder / f"{name}.out") for name in ("metrics", "gradients", "checkpoint", "gates")}
run = {"task": "adding", "T": 30, "seed": 0, "settings": settings, "data": str(folder.parent / "data.npz"),
       "outputs": outputs}
train_lab_runs("lstm", [run], 1, {"tracking_uri": sys.argv[2], "artifact_root": sys.argv[3], "server_wait_s": 5},
               "train_longdep_lstm", folder, str(folder / "job.log"))
"""


def lab_job(folder, tracking_store, max_updates: int) -> subprocess.Popen:
    folder.mkdir(exist_ok=True)
    # SIGINT and SIGHUP as a job in a terminal has them, even where the tests run in the background or under nohup
    # (which ignore them)
    return subprocess.Popen([sys.executable, "-c", LAB_JOB, str(folder), *tracking_store, str(max_updates)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_in_a_terminal)


def as_in_a_terminal() -> None:
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_saves_at_once_and_the_rerun_continues_the_same_mlflow_run(tmp_path, tracking_store, signum):
    generate_data("adding", 30, 0, {"train": 600, "val": 100, "test": 100}, tmp_path / "data.npz")
    assert lab_job(tmp_path / "whole", tracking_store, 400).wait(timeout=300) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.out").read_text())

    job = lab_job(tmp_path / "stopped", tracking_store, 400)
    resume_file = tmp_path / "stopped" / "resume.pt"
    deadline = time.monotonic() + 120
    while not resume_file.exists() and time.monotonic() < deadline:  # the first round's state is saved
        time.sleep(0.05)
    job.send_signal(signum)
    _, stderr = job.communicate(timeout=120)
    assert job.returncode != 0 and f"TrainingInterrupted: stopped by {signum.name} after update" in stderr
    saved = torch.load(resume_file, weights_only=False)
    assert 0 < saved["progress"]["updates"] < 400
    client = mlflow.MlflowClient(tracking_store[0])
    assert client.get_run(saved["run_id"]).info.status == "KILLED"

    rerun = lab_job(tmp_path / "stopped", tracking_store, 400)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr[-3000:]
    resumed = json.loads((tmp_path / "stopped" / "metrics.out").read_text())
    assert resumed["run_id"] == saved["run_id"] and not resume_file.exists()
    for key in ("test", "steps", "solved", "history"):
        assert resumed[key] == whole[key], key
    run = client.get_run(resumed["run_id"])
    assert run.info.status == "FINISHED"
    steps = [point.step for point in client.get_metric_history(run.info.run_id, "val_score")]
    assert sorted(set(steps)) == [r["step"] for r in whole["history"]]
    assert np.isclose(run.data.metrics["test_score"], whole["test"]["score"])


def toy_features(folder: Path) -> Path:
    """Two classes of 3-channel sequences, written as a features folder."""
    rng = np.random.default_rng(0)
    splits = {}
    for name, count in {"train": 40, "val": 20, "test": 4}.items():
        sequences = [rng.standard_normal((5, 3)).astype(np.float32) for _ in range(count)]
        rows = sparse.csr_matrix(np.stack([s.mean(0) for s in sequences]))
        splits[name] = SplitFeatures(sequences, rows, rng.integers(0, 2, count))
    meta = {"dataset": "stopped-search", "kind": "speech", "labels": ["a", "b"], "pad_index": 0, "settings": {},
            "n_train": 40, "n_val": 20, "n_test": 4, "vocab_size": None, "sequence_dim": 3, "tabular_dim": 3,
            "source": "https://example.org/toy", "manifest_sha256": "0" * 64}
    save_features(FeatureSet(splits, meta), folder)
    return folder


def test_a_search_job_stopped_after_a_diverged_trial_restores_that_trial_instead_of_training_it_again(
        tmp_path, tracking_store, monkeypatch):
    settings = {"tracking_uri": tracking_store[0], "artifact_root": tracking_store[1], "server_wait_s": 5}
    defaults = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["training"]["speech"]["mlp"]
    trials = [{**defaults, "hidden_sizes": [4], "max_epochs": 2, "lr": lr} for lr in (1e30, 1e-3)]
    features, search = toy_features(tmp_path / "features"), tmp_path / "search.json"
    open_search("stopped-search", "mlp", trials, {"lr": {"choice": [1e30, 1e-3]}}, 0, search, settings, "open_search",
                REPO)
    outputs = {k: {"metrics": str(tmp_path / f"trial{k}" / "metrics.json")} for k in (0, 1)}
    for k in outputs:
        (tmp_path / f"trial{k}").mkdir()

    def job() -> None:
        train_trials(search, outputs, 0, features, "cpu", 1, settings, "tune_trials", REPO, "logs/job.log")

    conclude = TrialRun.conclude

    def stopped_in_trial_1(plan, fitted):
        if plan.trial == 1:
            raise StoppedBySignal(signal.SIGTERM)
        return conclude(plan, fitted)

    monkeypatch.setattr(TrialRun, "conclude", stopped_in_trial_1)
    with pytest.raises(StoppedBySignal):
        job()
    diverged = json.loads(Path(outputs[0]["metrics"]).read_text())
    assert "loss became nan" in diverged["diverged"]
    Path(outputs[0]["metrics"]).unlink()  # Snakemake deletes every output of a failed job
    monkeypatch.undo()
    job()
    assert json.loads(Path(outputs[0]["metrics"]).read_text()) == diverged
    assert json.loads(Path(outputs[1]["metrics"]).read_text())["diverged"] is None
    assert not list(tmp_path.rglob("resume.pt"))
    runs = mlflow.MlflowClient(tracking_store[0]).search_runs(
        [mlflow.MlflowClient(tracking_store[0]).get_experiment_by_name("stopped-search-tuning").experiment_id])
    statuses = sorted((run.info.run_name, run.info.status) for run in runs)
    assert statuses == [("mlp-search", "FINISHED"), ("mlp-trial0-seed0", "FAILED"), ("mlp-trial1-seed0", "FINISHED")]


def long_lstm_workdir(workdir, seeds=(0,)):
    """A tiny workflow whose one training job (an LSTM on digits, one run per seed) runs long enough to be killed
    mid-way."""
    workdir.mkdir()
    tiny_registry(workdir)
    config = tiny_config(workdir, ["digits"])
    config.update(models=["lstm"], seeds=list(seeds))
    config["training"]["speech"]["lstm"].update(max_epochs=150, patience=150, hidden_size=16)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


@pytest.mark.slow
def test_a_job_killed_in_its_second_run_restores_the_first_and_resumes_the_second_when_snakemake_runs_again(
        tmp_path):
    whole = long_lstm_workdir(tmp_path / "whole", seeds=(0, 1))
    assert snakemake(whole, "--cores", "1").returncode == 0
    killed = long_lstm_workdir(tmp_path / "killed", seeds=(0, 1))
    runs = [Path(f"results/models/lstm/digits/seed{seed}") for seed in (0, 1)]
    first = subprocess.Popen([*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory",
                              str(killed), "--configfile", str(killed / "config.yaml"), "--cores", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not (killed / runs[1] / "resume.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    jobs = subprocess.run(["pgrep", "-f", f"{killed}/.snakemake/scripts/.*train.py"], capture_output=True, text=True)
    for pid in jobs.stdout.split():
        os.kill(int(pid), signal.SIGKILL)
    output, _ = first.communicate(timeout=300)
    assert jobs.stdout.split() and first.returncode != 0, output[-3000:]
    assert "seqsuite: finished outputs and the last saved training state are kept" in output  # onerror
    # Snakemake deleted the job's outputs, the first run's too; its copy and the second's state are kept
    assert not any((killed / run / "metrics.json").exists() for run in runs)
    assert all((killed / run / "resume.pt").exists() for run in runs)

    again = snakemake(killed, "--cores", "1")
    assert again.returncode == 0, again.stderr[-3000:]
    log = (killed / "logs" / "train_lstm" / "digits.log").read_text()
    assert "lstm on digits, seed 0: finished by an earlier attempt of this job" in log and "resuming from" in log
    assert not any((killed / run / "resume.pt").exists() for run in runs)
    client = mlflow.MlflowClient(f"sqlite:///{killed / 'results' / 'mlflow.db'}")
    mlflow_runs = client.search_runs([client.get_experiment_by_name("digits").experiment_id],
                                     run_view_type=ViewType.ALL)
    assert sorted((r.info.run_name, r.info.status) for r in mlflow_runs) == [("lstm-seed0", "FINISHED"),
                                                                             ("lstm-seed1", "FINISHED")]
    for run in runs:
        resumed, expected = (json.loads((folder / run / "metrics.json").read_text()) for folder in (killed, whole))
        for key in ("metrics", "history", "best_epoch", "epochs_run"):
            assert resumed[key] == expected[key], (run, key)
        assert resumed["run_id"] in {r.info.run_id for r in mlflow_runs}
        assert (killed / run / "predictions.csv").read_bytes() == (whole / run / "predictions.csv").read_bytes()


@pytest.mark.slow
def test_a_full_disk_fails_the_job_naming_it_and_the_rerun_after_freeing_space_finishes(tmp_path):
    """results/ (features, the SQLite store, the training state) on a real 20 MiB disk: a 2.4 MB LSTM's saved
    state fills it during training. The job names the disk, leaves no partial file, and once there is space the
    rerun resumes and ends with one FINISHED run."""
    workdir = long_lstm_workdir(tmp_path / "full")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["training"]["speech"]["lstm"].update(max_epochs=3, patience=3, hidden_size=384)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    with small_disk(workdir / "results", "20M") as results:
        full = snakemake(workdir, "--cores", "1")
        assert full.returncode != 0
        assert re.search(r"seqsuite: DiskFullError: the disk is full: (results/models/lstm/digits/seed0)/resume.pt "
                         r"was not written \(\d+\.\d MiB free in \1, or your quota there is used up\)\. "
                         r"Free space there",
                         full.stderr), full.stderr[-3000:]
        assert not list(workdir.rglob("*.partial*")) and not list(results.rglob("metrics.json"))
        subprocess.run(["mount", "-o", "remount,size=200M", str(results)], check=True)
        again = snakemake(workdir, "--cores", "1")
        assert again.returncode == 0, again.stderr[-3000:]
        assert "resuming from" in (workdir / "logs" / "train_lstm" / "digits.log").read_text()
        client = mlflow.MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
        runs = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
        assert [(r.info.run_name, r.info.status) for r in runs] == [("lstm-seed0", "FINISHED")]
        assert json.loads((results / "models/lstm/digits/seed0/metrics.json").read_text())["epochs_run"] == 3


@pytest.mark.slow
def test_ctrl_c_to_snakemake_then_rerun_incomplete_leaves_one_finished_run(tmp_path):
    """SIGINT to snakemake alone (Ctrl-C where the job runs on): its outputs are marked incomplete and
    `--rerun-incomplete` trains again; the run it replaces is retired, none is left RUNNING."""
    workdir = long_lstm_workdir(tmp_path / "interrupted")
    console = tmp_path / "console.txt"
    with open(console, "w") as out:
        # SIGINT as a terminal delivers it: a run started in the background (`cmd &`, as CI may be) inherits it
        # ignored, and snakemake would then never see the Ctrl-C
        first = subprocess.Popen([*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"),
                                  "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores",
                                  "1"], stdout=out, stderr=subprocess.STDOUT,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 300
        while not (workdir / "results/models/lstm/digits/seed0/resume.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGINT)
        first.wait(timeout=300)
    output = console.read_text()
    assert first.returncode != 0 and "Terminating processes on user request" in output, output[-3000:]

    again = snakemake(workdir, "--cores", "1", "--rerun-incomplete")
    assert again.returncode == 0, again.stderr[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{workdir / 'results' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("digits").experiment_id], run_view_type=ViewType.ALL)
    active = [(r.info.run_name, r.info.status) for r in runs if r.info.lifecycle_stage == "active"]
    assert active == [("lstm-seed0", "FINISHED")], [(r.info.status, r.info.lifecycle_stage) for r in runs]
    # the job ran on to the end after Ctrl-C; the run whose outputs Snakemake discarded is deleted (restorable)
    assert [(r.info.status, r.info.lifecycle_stage) for r in runs if r.info.lifecycle_stage != "active"] == [
        ("FINISHED", "deleted")]
    metrics = json.loads((workdir / "results/models/lstm/digits/seed0/metrics.json").read_text())
    assert metrics["run_id"] == next(r.info.run_id for r in runs if r.info.lifecycle_stage == "active")
