"""Shared fixtures: tiny speech and text datasets built in the test, and one MLflow store per session."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

REPO = Path(__file__).resolve().parents[1]
# Snakemake as the tests run it: without the workflow's default profile (profiles/default), so that each test sets
# the options it needs; tests/test_profiles.py checks that profile
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--workflow-profile", "none"]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
WORDS = {"pos": ["good", "great", "fine", "lovely", "superb"], "neg": ["bad", "awful", "poor", "dull", "weak"]}
FILLER = ["the", "film", "was", "a", "plot", "and", "it", "so"]


def tone(digit: int, rate: int, rng: np.random.Generator, seconds: float = 0.25) -> np.ndarray:
    """A noisy tone whose pitch encodes the digit: easy to classify, different per recording."""
    t = np.arange(int(rate * seconds * rng.uniform(0.8, 1.6))) / rate
    wave = 0.5 * np.sin(2 * np.pi * (300 + 250 * digit) * t) + 0.05 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def write_fsdd_like(root: Path, digits: int = 3, speakers: tuple[str, ...] = ("ann", "bob"), per: int = 8,
                    rate: int = 8000, seed: int = 0) -> Path:
    """recordings/{digit}_{speaker}_{index}.wav, as in the Free Spoken Digit Dataset."""
    rng = np.random.default_rng(seed)
    folder = root / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    for digit in range(digits):
        for speaker in speakers:
            for index in range(per):
                soundfile.write(folder / f"{digit}_{speaker}_{index}.wav", tone(digit, rate, rng), rate)
    return root


def write_speech_folders(root: Path, labels: tuple[str, ...] = ("low", "high"), per: int = 12,
                         rate: int = 16000, seed: int = 1) -> Path:
    """One folder of WAV files per label."""
    rng = np.random.default_rng(seed)
    for i, label in enumerate(labels):
        (root / label).mkdir(parents=True, exist_ok=True)
        for index in range(per):
            soundfile.write(root / label / f"{label}_{index:02d}.wav", tone(2 * i, rate, rng), rate)
    return root


def sentences(label: str, n: int, rng: np.random.Generator) -> list[str]:
    """Short sentences whose polarity words give the label away."""
    return [
        " ".join(rng.choice(FILLER, size=rng.integers(3, 9)).tolist() + [str(rng.choice(WORDS[label]))])
        for _ in range(n)
    ]


def write_mr_like(root: Path, per_label: int = 40, seed: int = 0) -> Path:
    """rt-polaritydata/rt-polarity.{pos,neg}: one cp1252 sentence per line, as in the MR dataset."""
    rng = np.random.default_rng(seed)
    folder = root / "rt-polaritydata"
    folder.mkdir(parents=True, exist_ok=True)
    for label in ("pos", "neg"):
        lines = [f"{s} \x85" for s in sentences(label, per_label, rng)]  # 0x85: cp1252's ellipsis
        (folder / f"rt-polarity.{label}").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    (root / "rt-polaritydata.README.1.0.txt").write_text("toy copy\n")
    return root


def write_text_table(path: Path, n: int = 60, seed: int = 2) -> Path:
    """One CSV with text, label and split columns."""
    rng = np.random.default_rng(seed)
    rows = ["review,sentiment,part"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        rows.append(f'"{sentences(label, 1, rng)[0]}",{label},{"test" if i % 5 == 0 else "train"}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="session")
def tracking_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(tracking URI, artifact root) of one SQLite MLflow store shared by the session's tests."""
    from seqsuite import tracking

    folder = tmp_path_factory.mktemp("mlflow")
    uri, artifacts = f"sqlite:///{folder / 'mlflow.db'}", str(folder / "artifacts")
    tracking.experiment_id(uri, artifacts, "warm-up")  # creates the tables once (10-20 s)
    return uri, artifacts


def dry_run(workdir: Path, *config: str, targets: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`snakemake -n [targets]` of the repository's workflow in workdir: its default config plus --config
    overrides.

    The default config's relative `registry` resolves against the workflow's folder, as for a user who
    runs the workflow from another directory.
    """
    return subprocess.run(
        [*SNAKEMAKE, "-n", *targets, "--cores", "1", "--directory", str(workdir),
         "--snakefile", str(REPO / "Snakefile"), "--configfile", str(REPO / "config" / "config.yaml"),
         *(["--config", *config] if config else [])],
        capture_output=True, text=True, timeout=120,
    )


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the repository's workflow in workdir with workdir/config.yaml."""
    return subprocess.run(
        [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(workdir / "config.yaml"), *args],
        capture_output=True, text=True, timeout=timeout,
    )


def tiny_config(workdir: Path, datasets: list[str], custom: dict | None = None) -> dict:
    """The default config with one epoch, small models and the test's registry and mirror."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for kind in ("speech", "text"):
        for settings in config["training"][kind].values():
            settings.update(max_epochs=1, batch_size=8)
            settings.update({"hidden_sizes": [8]} if "hidden_sizes" in settings else {"hidden_size": 8})
    config["features"]["speech"].update(n_mfcc=8, n_mels=16)
    config.update(registry=str(workdir / "registry.yaml"), data_mirror=str(workdir / "mirror"), seeds=[0],
                  datasets=datasets, custom_datasets=custom or {}, split_seed=1, val_fraction=0.2)
    config["threads"]["extract_features"] = 1
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return config


def tiny_registry(workdir: Path) -> None:
    """A registry of two tiny datasets laid out like FSDD and MR, served by a local mirror folder."""
    from seqsuite.data.download import manifest_sha256

    registry = yaml.safe_load((REPO / "config" / "datasets.yaml").read_text())
    mirror = workdir / "mirror"
    entries = {}
    for name, template, build in (("digits", "fsdd", write_fsdd_like), ("polarity", "mr", write_mr_like)):
        folder = build(mirror / name)
        entries[name] = {**registry[template], "mirror_dir": name,
                         "manifest_sha256": manifest_sha256(folder),
                         "url": "http://127.0.0.1:9/unreachable.tar.gz", "archive_sha256": None}
    (workdir / "registry.yaml").write_text(yaml.safe_dump(entries))


@pytest.fixture(scope="session")
def finished_workflow(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A complete run of the workflow with --cores 2 on two registry datasets and one of the user's own."""
    workdir = tmp_path_factory.mktemp("workflow")
    tiny_registry(workdir)
    write_text_table(workdir / "mine" / "reviews.csv")
    custom = {"reviews": {"kind": "text", "format": "text_table", "path": str(workdir / "mine"),
                          "read": {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment"},
                          "split": {"method": "column", "column": "part"}}}
    tiny_config(workdir, ["digits", "polarity", "reviews"], custom)
    (workdir / "mirror-before.json").write_text(json.dumps(tree_state(workdir / "mirror")))
    return workdir, snakemake(workdir, "--cores", "2")


def tree_state(folder: Path) -> dict[str, list[int]]:
    """Every path under folder with its size and modification time, to show that nothing wrote there."""
    return {str(p.relative_to(folder)): [p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(folder.rglob("*"))}


OUTSIDE_THE_CHECKOUT = """
import sys
repo = sys.argv[1]
sys.path = [p for p in sys.path if p.rstrip("/") not in (repo, repo + "/src")]  # e.g. the editable install's
try:
    import seqsuite
except ModuleNotFoundError:
    pass
else:
    sys.exit(f"seqsuite is importable before loading the model: {seqsuite.__file__}")
"""


def run_outside_checkout(code: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Python code run in folder where seqsuite cannot be imported from this checkout (sys.argv[1] is the
    checkout, the rest are args); code that loads a logged model gets seqsuite from the model's own code/."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", OUTSIDE_THE_CHECKOUT + code, str(REPO), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_mlflow_server(database: str, workdir: Path, *options: str, host: str = "127.0.0.1") -> Iterator[str]:
    """`mlflow server [options]` listening on host (an address or a name) over a backend store, as a head node would
    run it; yields its URL. An option may name the chosen port as {port}."""
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", database, "--host", host,
         "--port", str(port), *(option.format(port=port) for option in options)],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://{host}:{port}"
    deadline = time.monotonic() + 90
    try:
        while not _healthy(base):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server on {base} did not answer /health within 90 s")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def host_names(addresses: dict[str, str]) -> Iterator[None]:
    """Names for addresses in /etc/hosts (root only) while the block runs, as a cluster's DNS would give them."""
    hosts = Path("/etc/hosts")
    before = hosts.read_text()
    hosts.write_text(before + "".join(f"{address} {name}  # seqsuite test\n" for name, address in addresses.items()))
    try:
        yield
    finally:
        hosts.write_text(before)


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A real file system of the given size (tmpfs, `1M`) mounted at folder while the block runs: root only,
    and CI runs as root, so there a failed mount fails the test instead of skipping it."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs at {folder}: {mounted.stderr}")
        pytest.skip(f"a small disk needs root (mount): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill(folder: Path, leave_bytes: int) -> None:
    """Fill folder's file system until about leave_bytes are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(folder / "filler", "wb") as filler:
        filler.write(b"\0" * max(free - leave_bytes, 0))


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def unhandled(signum, frame):
    """A signal's handler as a job in a terminal gets it (not ignored), failing the test where it is reached: by
    default the signal would have killed the test's process."""
    pytest.fail(f"{signal.Signals(signum).name} reached the handler the job started with (by default: killed)")
