"""Long-dependency lab: its models, training loop, measurements, tables, findings and report section."""

from __future__ import annotations

import copy
import json
import logging

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO

from seqsuite.batches import TensorData
from seqsuite.longdep import check_lab, lab_runs
from seqsuite.longdep.measures import aligned_probe, gate_means, gradient_norms, marker_positions
from seqsuite.longdep.report import render_lab_page, write_lab_report
from seqsuite.longdep.summary import (
    GRADIENT_COLUMNS,
    SUMMARY_COLUMNS,
    decay_rates,
    gradient_sentence,
    largest_solved,
    solved_table,
    solving_sentence,
)
from seqsuite.longdep.tasks import TASKS, generate
from seqsuite.models import MODELS
from seqsuite.models.build import InputSpec, build_model
from seqsuite.models.cells import explicit_cell, unroll
from seqsuite.steps.lab import LabRun, lab_architecture, load_data, summarise, train_lab_runs
from seqsuite.steps.lab_data import generate_data
from seqsuite.steps.runner import train_plan
from seqsuite.training import NonFiniteLossError

SETTINGS = {"hidden_size": 16, "mlp_hidden_sizes": [32], "lr": 0.01, "clip_norm": 1.0, "forget_bias": 1.0,
            "batch_size": 32, "max_updates": 400, "eval_every": 50}
SIZES = {"train": 2000, "val": 200, "test": 200}


def tensors(task: str, length: int, seed: int = 0) -> dict[str, TensorData]:
    arrays = generate(task, length, seed, SIZES)
    return {s: TensorData(torch.from_numpy(arrays[f"{s}_x"]), torch.from_numpy(arrays[f"{s}_y"])) for s in SIZES}


def lab_model(name: str, task: str, length: int) -> torch.nn.Module:
    """A fresh lab model for a task at gap length T, as the lab builds it."""
    channels = 2 if task == "adding" else 8
    inputs = InputSpec(n_outputs=TASKS[task].n_outputs, sequence_dim=channels, tabular_dim=length * channels)
    return build_model(name, inputs, lab_architecture(SETTINGS))


def test_lstm_without_forget_gate_stays_the_1997_cell_under_training():
    data = tensors("adding", 20)
    plan = LabRun(data, "adding", 20, "lstm_no_forget_gate", 0, {**SETTINGS, "max_updates": 30})
    h = plan.model.recurrent.hidden_size
    before = {name: p[h:2 * h].detach().clone() for name, p in plan.model.recurrent.named_parameters()}
    train_plan(plan)
    after = {name: p[h:2 * h].detach().clone() for name, p in plan.model.recurrent.named_parameters()}
    assert all(torch.equal(before[name], after[name]) for name in before)  # σ'(30) = 0: no update reaches them
    x = data["test"].x[:16]
    hidden, gates = unroll(explicit_cell(plan.model.recurrent), x)
    expected, _ = plan.model.recurrent(x)
    torch.testing.assert_close(torch.stack(hidden, dim=1), expected, rtol=0, atol=1e-6)
    assert torch.equal(gates["forget"], torch.ones_like(gates["forget"]))


def test_training_stops_once_validation_is_solved_and_otherwise_spends_the_budget():
    plan = LabRun(tensors("temporal_order", 12), "temporal_order", 12, "lstm", 0, SETTINGS)
    records = []
    result = train_plan(plan, on_record=records.append)
    every = SETTINGS["eval_every"]
    assert result.stopped_early and result.updates < SETTINGS["max_updates"] and result.updates % every == 0
    assert records == result.history and records[-1]["val_score"] <= 0.01
    assert [r["step"] for r in records] == list(range(every, result.updates + 1, every))
    # far too few updates for a tanh RNN on the adding problem at T = 40
    plan = LabRun(tensors("adding", 40), "adding", 40, "rnn", 0, {**SETTINGS, "max_updates": 70})
    result = train_plan(plan)
    assert not result.stopped_early and result.updates == 70 and [r["step"] for r in result.history] == [50, 70]


def test_solved_is_judged_on_test_although_training_stops_on_validation(tmp_path, tracking_store):
    arrays = generate("adding", 10, 0, SIZES)
    arrays["val_x"], arrays["val_y"] = arrays["train_x"][:200], arrays["train_y"][:200]
    arrays["test_y"] = np.random.default_rng(1).permutation(arrays["test_y"])  # answers unrelated to inputs
    np.savez(tmp_path / "data.npz", **arrays)
    uri, artifacts = tracking_store
    outputs = {name: str(tmp_path / name) for name in ("metrics", "gradients", "checkpoint", "gates")}
    run = {"task": "adding", "T": 10, "seed": 0, "settings": {**SETTINGS, "max_updates": 1500},
           "data": str(tmp_path / "data.npz"), "outputs": outputs}
    train_lab_runs("lstm", [run], 1, {"tracking_uri": uri, "artifact_root": artifacts, "server_wait_s": 5},
                   "train_longdep_lstm", tmp_path, str(tmp_path / "job.log"))
    run = json.loads((tmp_path / "metrics").read_text())
    assert run["stopped_solved"] and run["steps"] < 1500  # validation met the criterion
    assert run["test"]["score"] > 0.1 and run["solved"] == 0  # the test set did not


def test_config_mistakes_are_named_before_anything_runs():
    lab = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["longdep"]
    check_lab(lab)
    assert len(lab_runs(lab)) == (4 + 3) * 3 * 3 + 2 * 3
    wrong_task = copy.deepcopy(lab)
    del wrong_task["tasks"]["adding"]
    with pytest.raises(ValueError, match="longdep.ablations.at.adding: adding is not under longdep.tasks"):
        check_lab(wrong_task)
    wrong_length = copy.deepcopy(lab)
    wrong_length["ablations"]["at"]["adding"] = [200, 400]
    with pytest.raises(ValueError, match=r"T \[400\] not in longdep.tasks.adding.T \[20, 50, 100, 200\]"):
        check_lab(wrong_length)
    wrong_length["ablations"].update(forget_bias0=False, no_forget_gate=False)
    check_lab(wrong_length)  # no ablation runs: their lengths do not matter
    empty = copy.deepcopy(lab)
    for task in empty["tasks"].values():
        task["T"] = []
    with pytest.raises(ValueError, match="longdep has no runs"):
        check_lab(empty)


def test_a_non_finite_loss_names_the_update():
    data = tensors("adding", 10)
    data["train"].x[:, 3, 0] = float("nan")
    plan = LabRun(data, "adding", 10, "rnn", 0, SETTINGS)
    with pytest.raises(NonFiniteLossError, match=r"tanh RNN, adding problem, T = 10, seed 0: .* at update 1 .*"
                                                 r"lower longdep.training.lr"):
        train_plan(plan)


def test_gradient_norms_run_from_the_output_backwards_and_leave_the_model_untouched():
    torch.manual_seed(3)
    data = tensors("adding", 30)
    x, y = data["test"].x[:64], data["test"].y[:64]
    for name in ("rnn", "lstm", "mlp"):
        model = lab_model(name, "adding", 30)
        weights = [p.detach().clone() for p in model.parameters()]
        norms = gradient_norms(model, TASKS["adding"], x, y)
        assert norms.shape == (30,) and np.all(norms >= 0)
        assert all(p.grad is None for p in model.parameters())
        assert all(torch.equal(w, p) for w, p in zip(weights, model.parameters(), strict=True))
    # an untrained tanh RNN's signal fades going back from the output (distance 0) to the first step
    rnn_norms = gradient_norms(lab_model("rnn", "adding", 30), TASKS["adding"], x, y)
    assert rnn_norms[-1] < 1e-3 * rnn_norms[0]


def test_probes_align_the_deciding_steps_of_both_tasks():
    adding = tensors("adding", 40)["test"].x[:50]
    probe, positions = aligned_probe("adding", adding)
    assert len(positions) == 2 and positions[0] <= 20 < positions[1]
    assert all(marker_positions("adding", sequence) == positions for sequence in probe)
    torch.testing.assert_close(probe[:, :, 0], adding[:, :, 0])
    order = tensors("temporal_order", 40)["test"].x[:50]
    probe, positions = aligned_probe("temporal_order", order)
    assert len(probe) == 50 and all(marker_positions("temporal_order", s) == positions for s in probe)
    for before, after in zip(order, probe, strict=True):  # same symbols, the X/Y pair in the same order
        assert torch.equal(before.sum(dim=0), after.sum(dim=0))
        assert torch.equal(before[[t - 1 for t in marker_positions("temporal_order", before)]],
                           after[[t - 1 for t in positions]])


def test_gate_means_cover_all_units_and_the_readout_units():
    torch.manual_seed(4)
    model = lab_model("lstm", "adding", 25)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.weight[0, 5] = 2.0
    x = tensors("adding", 25)["test"].x[:20]
    means = gate_means(model, x)
    _, gates = unroll(explicit_cell(model.recurrent), x)
    for name in ("input", "forget", "output"):
        assert means["all"][name].shape == (25,)
        np.testing.assert_allclose(means["readout"][name], gates[name][:, :, 5].mean(dim=0).detach().numpy(),
                                   rtol=1e-6)
    with pytest.raises(ValueError, match="need an LSTM"):
        gate_means(lab_model("rnn", "adding", 25), x)


def sweep_summary() -> pd.DataFrame:
    """A summary where the LSTM solves every T, the RNN only T = 20, the MLP never (2 of 3 seeds at T = 100)."""
    rows = []
    for length in (20, 50, 100):
        for model in ("mlp", "rnn", "lstm"):
            for seed in range(3):
                solved = model == "lstm" and (length < 100 or seed < 2) or model == "rnn" and length == 20
                rows.append({"task": "adding", "T": length, "model": model, "seed": seed, "solved": int(solved),
                             "score": 0.002 if solved else 0.16, "steps": 900 if solved else 3000,
                             "train_seconds": 5.0})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def test_tables_count_solved_seeds_and_the_largest_t_solved_by_most_seeds():
    table = solved_table(sweep_summary())
    lstm_100 = table[(table["model"] == "lstm") & (table["T"] == 100)].iloc[0]
    assert (lstm_100["solved"], lstm_100["seeds"]) == (2, 3)
    assert largest_solved(table) == {("adding", "mlp"): None, ("adding", "rnn"): 20, ("adding", "lstm"): 100}
    sentence = solving_sentence("adding", table)
    assert "the MLP at no T" in sentence and "the tanh RNN up to T = 20" in sentence
    assert "the LSTM up to T = 100" in sentence and "2/3 seeds" in sentence


def gradient_frame(factors: dict[str, float], length: int = 40) -> pd.DataFrame:
    """Norms that change by a fixed factor per step back, for two seeds (equal), per model and phase."""
    rows = [{"task": "adding", "T": length, "model": model, "seed": seed, "phase": phase, "distance": d,
             "grad_norm": factor ** d * (0.5 if phase == "trained" else 1.0)}
            for model, factor in factors.items() for seed in (0, 1) for phase in ("init", "trained")
            for d in range(length)]
    return pd.DataFrame(rows, columns=GRADIENT_COLUMNS)


def test_decay_rates_recover_the_factor_per_step():
    decay = decay_rates(gradient_frame({"rnn": 0.5, "lstm": 0.99}))
    rnn = decay[(decay["model"] == "rnn") & (decay["phase"] == "init")].iloc[0]
    assert rnn["factor_per_10_steps"] == pytest.approx(0.5 ** 10) and rnn["far_to_near"] == pytest.approx(0.5 ** 39)
    assert rnn["seeds"] == 2
    lstm = decay[(decay["model"] == "lstm") & (decay["phase"] == "trained")].iloc[0]
    assert lstm["factor_per_10_steps"] == pytest.approx(0.99 ** 10)
    sentence = gradient_sentence(decay)
    assert "T = 40" in sentence and "factor of 9.8e-04" in sentence and "0.904 in the untrained LSTM" in sentence


def test_lab_page_shows_tables_findings_and_figures(tmp_path):
    summary = sweep_summary()
    ablation = summary[(summary["model"] == "lstm") & (summary["T"] == 100)].assign(model="lstm_forget_bias0")
    summary = pd.concat([summary, ablation.assign(solved=0, score=0.15)], ignore_index=True)
    settings = {"tasks": {"adding": {"T": [20, 50, 100], "batch_size": 64, "max_updates": 3000}},
                "training": {"lr": 0.01, "clip_norm": 1.0, "hidden_size": 32, "mlp_hidden_sizes": [128],
                             "forget_bias": 1.0}, "sizes": {"train": 10000, "val": 1000, "test": 1000}}
    inputs = (summary, decay_rates(gradient_frame({"rnn": 0.5, "lstm": 0.99})), b"\x89PNG fake", b"\x89PNG fake",
              settings)
    write_lab_report(*inputs, tmp_path / "report" / "longdep.html")
    page = (tmp_path / "report" / "longdep.html").read_text(encoding="utf-8")
    assert page == render_lab_page(*inputs)
    assert '<section id="long-range-dependencies">\n<h2>Long-range dependencies</h2>' in page
    assert "at most 3,000 updates" in page and page.count("data:image/png;base64,") == 2
    assert "<td class=\"significant\">2/3</td>" in page and "LSTM, forget bias 0" in page
    assert "the LSTM up to T = 100" in page
    assert '<a href="index.html">' in page  # back to the datasets' page beside it


def test_runs_are_logged_to_mlflow_and_summarised(tmp_path, tracking_store, caplog):
    caplog.set_level(logging.INFO, logger="seqsuite")
    uri, artifacts = tracking_store
    generate_data("adding", 12, 0, {"train": 500, "val": 100, "test": 100}, tmp_path / "data.npz")
    assert load_data(tmp_path / "data.npz")["train"].x.shape == (500, 12, 2)
    settings = {**SETTINGS, "max_updates": 60, "eval_every": 20}
    metrics, gradients, gates = [], [], []
    for model in ("mlp", "rnn", "lstm"):
        names = ("metrics", "gradients", "checkpoint", *(("gates",) if model == "lstm" else ()))
        outputs = {name: str(tmp_path / f"{model}-{name}") for name in names}
        run = {"task": "adding", "T": 12, "seed": 0, "settings": settings, "data": str(tmp_path / "data.npz"),
               "outputs": outputs}
        train_lab_runs(model, [run], threads=1,
                       tracking={"tracking_uri": uri, "artifact_root": artifacts, "server_wait_s": 5},
                       rule=f"train_longdep_{model}", workflow_dir=tmp_path, job_log=str(tmp_path / "job.log"))
        metrics.append(outputs["metrics"])
        gradients.append(outputs["gradients"])
        if model == "lstm":
            gates.append(outputs["gates"])
        run = json.loads((tmp_path / f"{model}-metrics").read_text())
        assert run["steps"] <= 60 and run["solved"] == int(run["test"]["score"] <= 0.01)
        assert 0 <= run["test"]["frac_within_0.04"] <= 1
        logged = mlflow.MlflowClient(uri).get_run(run["run_id"])
        assert logged.info.status == "FINISHED" and logged.data.tags["model"] == model
        assert "test_score" in logged.data.metrics and "train_seconds" in logged.data.metrics
        curve = mlflow.MlflowClient(uri).get_metric_history(run["run_id"], "val_score")
        assert [point.step for point in curve] == [r["step"] for r in run["history"]]
        progress = [line for line in caplog.messages if line.startswith(f"{MODELS[model].title}, adding problem")]
        assert [line.split(": ")[1] for line in progress[:len(run["history"])]] == [
            f"step {r['step']}" for r in run["history"]]  # one line per evaluation in the job's log
        plots = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(run["run_id"], "plots")}
        expected = {"plots/learning_curves.png", "plots/gradient_norms.png"} | (
            {"plots/gates.png"} if model == "lstm" else set())
        assert plots == expected
    assert mlflow.MlflowClient(uri).get_experiment_by_name("longdep-adding") is not None
    outputs = {"summary": tmp_path / "summary.csv", "gradients": tmp_path / "gradient_norms.csv",
               "decay": tmp_path / "decay.csv", "gradient_plot": tmp_path / "g.png",
               "gate_plot": tmp_path / "gates.png", "settings": tmp_path / "settings.json"}
    summarise(metrics, gradients, gates, {"training": settings}, outputs)
    summary = pd.read_csv(outputs["summary"])
    assert list(summary.columns) == SUMMARY_COLUMNS and set(summary["model"]) == {"mlp", "rnn", "lstm"}
    norms = pd.read_csv(outputs["gradients"])
    assert list(norms.columns) == GRADIENT_COLUMNS and len(norms) == 3 * 2 * 12
    assert set(norms["distance"]) == set(range(12))
    assert outputs["gate_plot"].read_bytes().startswith(b"\x89PNG")
    assert json.loads(outputs["settings"].read_text()) == {"training": settings}
    recorded = pd.read_csv(gates[0])
    assert set(recorded["units"]) == {"all", "readout"} and recorded["marker"].sum() == 2 * 2
