"""The MLflow UI in a real browser: headless Chromium, driven by Playwright, against `mlflow server`
serving the end-to-end workflow's tracking database. SEQSUITE_SCREENSHOTS=docs refreshes docs/'s screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import mlflow
import pytest
from conftest import REPO, running_mlflow_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# MLflow 3.17 opens its assistant panel over the runs table on a first visit; these keep it closed.
CLOSE_ASSISTANT = """
window.localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');
window.localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');
"""


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None if CHROMIUM else "chromium is not installed (apt-get install chromium)"


pytestmark = [pytest.mark.slow]
if browser_missing():
    # CI installs both, so there a missing browser is a failure, not a skip
    pytestmark.append(pytest.mark.skipif(not os.environ.get("CI"), reason=browser_missing() or ""))


@pytest.fixture(scope="module")
def mlflow_server(finished_workflow) -> Iterator[tuple[str, str]]:
    """(base URL, tracking database URI) of an `mlflow server` over the workflow's runs."""
    workdir, result = finished_workflow
    assert result.returncode == 0, result.stderr[-3000:]
    database = f"sqlite:///{workdir / 'results' / 'mlflow.db'}"
    with running_mlflow_server(database, workdir) as base:
        yield base, database


@pytest.fixture(scope="module")
def page(mlflow_server):
    """A Chromium page, 1700 px wide, with MLflow's assistant panel kept closed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        tab = browser.new_page(viewport={"width": 1700, "height": 1000})
        tab.add_init_script(CLOSE_ASSISTANT)
        yield tab
        browser.close()


def test_runs_table_shows_every_run_and_a_run_shows_its_curves_and_model(mlflow_server, page, tmp_path):
    from playwright.sync_api import expect

    base, database = mlflow_server
    client = mlflow.MlflowClient(database)
    experiment = client.get_experiment_by_name("digits")
    runs = client.search_runs([experiment.experiment_id])
    names = sorted(run.info.run_name for run in runs)
    assert names == ["lstm-seed0", "mlp-seed0", "rnn-seed0"]

    page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs?workflowType=machine_learning")
    links = page.get_by_role("link", name="-seed")
    links.first.wait_for(timeout=60_000)
    for name in names:
        page.get_by_role("link", name=name, exact=True).wait_for(timeout=10_000)
    shown = sorted(links.all_inner_texts())
    assert shown == names
    # SEQSUITE_SCREENSHOTS=docs refreshes the README's screenshots; otherwise they stay in the test's folder
    shots = REPO / "docs" if os.environ.get("SEQSUITE_SCREENSHOTS") == "docs" else tmp_path
    page.screenshot(path=str(shots / "mlflow-runs.png"))

    page.get_by_role("link", name="lstm-seed0", exact=True).click()
    page.get_by_text("Logged models (1)").wait_for(timeout=60_000)
    page.get_by_role("link", name="model", exact=True).first.wait_for(timeout=30_000)
    page.get_by_text("Ready", exact=True).first.wait_for(timeout=30_000)  # the logged model's status
    page.get_by_text("digits (").first.wait_for(timeout=30_000)  # the dataset input with its digest
    page.get_by_role("tab", name="Model metrics").click()
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_placeholder("Search metric charts").fill("val_accuracy")
    page.get_by_text("val_accuracy", exact=True).first.wait_for(timeout=30_000)  # the per-epoch curve
    expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=30_000)  # val_ and best_val_accuracy
    page.screenshot(path=str(shots / "mlflow-run-metrics.png"))
