"""Tests for seqsuite.data.download: manifests, archives, mirrors and atomic publishing, all offline."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SHARED_DATASETS, free_port

from seqsuite.data import download
from seqsuite.data.download import (
    CHUNK_BYTES,
    DownloadError,
    fetch_dataset,
    listing_links,
    manifest_sha256,
    progress_line,
)
from seqsuite.data.registry import DatasetSpec

TOY_FILES = {"data/a.txt": b"alpha\n", "data/sub/b.txt": b"beta\n", "data/sub/x/c.bin": bytes(range(256))}
EXTRA_FILES = {"README": b"not kept\n", "data/PROVENANCE.md": b"# ignored by the manifest\n"}


class QuietHandler(SimpleHTTPRequestHandler):
    """A static file handler that does not log requests."""

    def log_message(self, format: str, *args: object) -> None:
        """Drop the log line."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a fresh folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write files (relative path -> bytes) under root."""
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


def tar_gz(files: dict[str, bytes], prefix: str = "toy-1.0/") -> bytes:
    """A .tar.gz holding files under prefix."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for relative, data in files.items():
            info = tarfile.TarInfo(prefix + relative)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_bytes(files: dict[str, bytes], prefix: str = "toy-1.0/", symlink: str | None = None) -> bytes:
    """A .zip holding files under prefix, plus an optional symlink member pointing at /etc/passwd."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for relative, data in files.items():
            zipped.writestr(prefix + relative, data)
        if symlink:
            info = zipfile.ZipInfo(prefix + symlink)
            info.external_attr = 0o120777 << 16
            zipped.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def expected_manifest(files: dict[str, bytes]) -> str:
    """The manifest of files, computed independently from the module under test."""
    names = sorted(files, key=str.encode)
    lines = "".join(f"{hashlib.sha256(files[name]).hexdigest()}  ./{name}\n" for name in names)
    return hashlib.sha256(lines.encode()).hexdigest()


def toy_spec(url: str | None = None, **overrides: object) -> DatasetSpec:
    """A small text DatasetSpec keeping data/ from toy-1.0/."""
    values: dict[str, object] = dict(name="toy", kind="text", format="text_lines", url=url, keep=("data",))
    values.update(archive_root="toy-1.0", mirror_dir="toy", manifest_sha256=expected_manifest(TOY_FILES))
    values.update(overrides)
    return DatasetSpec(**values)


def leftovers(parent: Path) -> list[str]:
    """Names of staging folders or temp archives left in parent."""
    return [path.name for path in parent.iterdir() if ".partial-" in path.name]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under folder with its size and mtime."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_manifest_matches_shell_pipeline(tmp_path: Path) -> None:
    files = {**TOY_FILES, "Z.txt": b"upper\n", "a b.txt": b"space\n", "x/y/PROVENANCE.md": b"skip\n"}
    write_tree(tmp_path, {**files, "PROVENANCE.md": b"# provenance\n"})
    pipeline = "find . -type f ! -name PROVENANCE.md -print0 | LC_ALL=C sort -z | xargs -0 sha256sum "
    pipeline += "| sha256sum"
    shell = subprocess.run(["bash", "-c", pipeline], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert manifest_sha256(tmp_path) == shell.stdout.split()[0]
    assert manifest_sha256(tmp_path / "data") != manifest_sha256(tmp_path)


def test_manifest_of_shared_rt_polarity_matches_registry() -> None:
    folder = SHARED_DATASETS / "rt-polarity"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not present")
    registry = yaml.safe_load((REPO / "config" / "datasets.yaml").read_text(encoding="utf-8"))
    assert manifest_sha256(folder) == registry["mr"]["manifest_sha256"]


def test_tar_gz_over_http(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    archive = tar_gz({**TOY_FILES, **EXTRA_FILES})
    (www / "toy.tar.gz").write_bytes(archive)
    dest = tmp_path / "resources" / "datasets" / "toy"
    spec = toy_spec(f"{base}/toy.tar.gz", archive_sha256=hashlib.sha256(archive).hexdigest())
    result = fetch_dataset(spec, dest)
    assert result == {"source": f"{base}/toy.tar.gz", "manifest_sha256": spec.manifest_sha256}
    for relative, data in TOY_FILES.items():
        assert (dest / relative).read_bytes() == data
    assert not (dest / "README").exists()
    assert (dest / "data" / "PROVENANCE.md").exists()
    assert leftovers(dest.parent) == []
    assert fetch_dataset(spec, dest)["manifest_sha256"] == spec.manifest_sha256  # replaces an existing dest
    assert leftovers(dest.parent) == []


def test_a_download_logs_its_progress(served: tuple[str, Path], tmp_path: Path, caplog, monkeypatch) -> None:
    base, www = served
    archive = tar_gz({**TOY_FILES, "big.bin": os.urandom(3 * CHUNK_BYTES)})
    (www / "toy.tar.gz").write_bytes(archive)
    monkeypatch.setattr(download, "PROGRESS_EVERY_S", 0.0)  # a line per chunk: four chunks of 1 MiB or less
    spec = toy_spec(f"{base}/toy.tar.gz", archive_sha256=hashlib.sha256(archive).hexdigest())
    with caplog.at_level(logging.INFO, logger="seqsuite"):
        fetch_dataset(spec, tmp_path / "toy")  # big.bin, outside data/, is not kept
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("downloading")]
    total = f"{len(archive) / 2**20:,.1f}"
    assert len(lines) >= 4 and lines[-1].startswith(f"downloading {base}/toy.tar.gz: {total} of {total} MiB (100%), ")
    assert any("MiB (3" in line or "MiB (2" in line for line in lines[:-1])  # part-way lines before the end
    assert progress_line("u", 3 * 2**20, 12 * 2**20, 2.0) == "downloading u: 3.0 of 12.0 MiB (25%), 1.5 MiB/s"
    assert progress_line("u", 3 * 2**20, None, 2.0) == "downloading u: 3.0 MiB, 1.5 MiB/s"


def test_keep_single_files_and_empty_keep(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    (www / "toy.tgz").write_bytes(tar_gz(TOY_FILES, prefix=""))
    files_only = toy_spec(
        f"{base}/toy.tgz",
        archive_root="",
        keep=("data/a.txt",),
        manifest_sha256=expected_manifest({"data/a.txt": b"alpha\n"}),
    )
    fetch_dataset(files_only, tmp_path / "one")
    assert sorted(p.name for p in (tmp_path / "one").rglob("*")) == ["a.txt", "data"]
    everything = toy_spec(f"{base}/toy.tgz", archive_root="", keep=())
    assert fetch_dataset(everything, tmp_path / "all")["manifest_sha256"] == expected_manifest(TOY_FILES)


def test_wrong_archive_checksum(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    archive = tar_gz(TOY_FILES)
    (www / "toy.tar.gz").write_bytes(archive)
    dest = tmp_path / "toy"
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(toy_spec(f"{base}/toy.tar.gz", archive_sha256="0" * 64), dest)
    assert "0" * 64 in str(caught.value) and hashlib.sha256(archive).hexdigest() in str(caught.value)
    assert f"{base}/toy.tar.gz" in str(caught.value)
    assert not dest.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["toy.tar.gz", "toy.zip"])
@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated_archive(name: str, keep: float, served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    archive = tar_gz(TOY_FILES) if name.endswith(".tar.gz") else zip_bytes(TOY_FILES)
    (www / name).write_bytes(archive[: int(len(archive) * keep)])
    with pytest.raises(DownloadError, match=f"{name}.*truncated or corrupt"):
        fetch_dataset(toy_spec(f"{base}/{name}"), tmp_path / "toy")
    assert not (tmp_path / "toy").exists() and leftovers(tmp_path) == []


def test_tar_with_parent_member_is_refused(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    (www / "evil.tar.gz").write_bytes(tar_gz({**TOY_FILES, "../evil.txt": b"pwned\n"}, prefix=""))
    dest = tmp_path / "out" / "toy"
    with pytest.raises(DownloadError, match="evil"):
        fetch_dataset(toy_spec(f"{base}/evil.tar.gz", archive_root=""), dest)
    assert not list(tmp_path.rglob("evil.txt"))
    assert not dest.exists() and leftovers(dest.parent) == []


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink"])
def test_unsafe_zip_is_refused(kind: str, served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    members = {"parent": {"../evil.txt": b"x"}, "absolute": {"/tmp/evil.txt": b"x"}, "symlink": {}}[kind]
    link = "data/link" if kind == "symlink" else None
    archive = zip_bytes({**TOY_FILES, **members}, prefix="", symlink=link)
    (www / "evil.zip").write_bytes(archive)
    dest = tmp_path / "toy"
    with pytest.raises(DownloadError, match="unsafe member"):
        fetch_dataset(toy_spec(f"{base}/evil.zip", archive_root=""), dest)
    assert not list(tmp_path.rglob("evil.txt")) and not list(tmp_path.rglob("link"))
    assert not dest.exists() and leftovers(tmp_path) == []


def test_zip_over_http(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    archive = zip_bytes({**TOY_FILES, **EXTRA_FILES})
    (www / "toy.zip").write_bytes(archive)
    spec = toy_spec(f"{base}/toy.zip", archive_sha256=hashlib.sha256(archive).hexdigest())
    result = fetch_dataset(spec, tmp_path / "toy")
    assert result["manifest_sha256"] == spec.manifest_sha256
    assert (tmp_path / "toy" / "data" / "sub" / "x" / "c.bin").read_bytes() == bytes(range(256))


def test_manifest_mismatch(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    (www / "toy.tar.gz").write_bytes(tar_gz(TOY_FILES))
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(toy_spec(f"{base}/toy.tar.gz", manifest_sha256="f" * 64), tmp_path / "toy")
    message = str(caught.value)
    assert "f" * 64 in message and expected_manifest(TOY_FILES) in message and "data_mirror" in message
    assert not (tmp_path / "toy").exists() and leftovers(tmp_path) == []


def test_missing_kept_path(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    (www / "toy.tar.gz").write_bytes(tar_gz(TOY_FILES))
    with pytest.raises(DownloadError, match="'recordings'"):
        fetch_dataset(toy_spec(f"{base}/toy.tar.gz", keep=("recordings",)), tmp_path / "toy")
    assert not (tmp_path / "toy").exists() and leftovers(tmp_path) == []


def test_local_mirror_is_copied_and_untouched(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    write_tree(mirror / "toy", {**TOY_FILES, "PROVENANCE.md": b"# where it came from\n"})
    before = snapshot(mirror)
    dest = tmp_path / "resources" / "toy"
    result = fetch_dataset(toy_spec("http://127.0.0.1:9/never.tar.gz"), dest, mirror=str(mirror))
    assert result == {"source": str(mirror / "toy"), "manifest_sha256": expected_manifest(TOY_FILES)}
    assert not (dest / "PROVENANCE.md").exists() and (dest / "data" / "a.txt").read_bytes() == b"alpha\n"
    assert snapshot(mirror) == before
    assert leftovers(dest.parent) == []


def test_local_mirror_missing_folder(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(toy_spec("http://127.0.0.1:9/x.tar.gz"), tmp_path / "toy", mirror=str(mirror))
    assert str(mirror / "toy") in str(caught.value) and "'toy'" in str(caught.value)
    assert not (tmp_path / "toy").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("mirror_dir", ["toy", "."])
def test_mirror_overlapping_dest_is_refused(mirror_dir: str, tmp_path: Path) -> None:
    mirror = write_tree(tmp_path / "datasets", {"toy/data/a.txt": b"alpha\n"})
    before = snapshot(mirror)
    spec = toy_spec("http://127.0.0.1:9/x.tar.gz", mirror_dir=mirror_dir)
    with pytest.raises(DownloadError, match="overlaps the destination"):
        fetch_dataset(spec, mirror / "toy", mirror=str(mirror))
    assert snapshot(mirror) == before


def test_local_mirror_with_wrong_version(tmp_path: Path) -> None:
    mirror = write_tree(tmp_path / "mirror", {"toy/data/a.txt": b"a different release\n"})
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(toy_spec("http://127.0.0.1:9/x.tar.gz"), tmp_path / "toy", mirror=str(mirror))
    # downloading the same copy again would not help: the message says to copy it again, and what it holds
    message = str(caught.value)
    assert "(1 files, 20 bytes)" in message and f"copy the dataset into {mirror / 'toy'} again" in message
    assert "rerun to download again" not in message
    assert not (tmp_path / "toy").exists() and leftovers(tmp_path) == []


def test_http_mirror(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    files = {**TOY_FILES, "data/with space.txt": b"quoted\n"}
    write_tree(www / "mirror" / "toy", {**files, "PROVENANCE.md": b"# not fetched\n"})
    write_tree(www / "mirror" / "other", {"secret.txt": b"not part of toy\n"})
    dest = tmp_path / "toy"
    spec = toy_spec("http://127.0.0.1:9/x.tar.gz", manifest_sha256=expected_manifest(files))
    result = fetch_dataset(spec, dest, mirror=f"{base}/mirror/")
    assert result == {"source": f"{base}/mirror/toy/", "manifest_sha256": expected_manifest(files)}
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == sorted(files)
    assert leftovers(tmp_path) == []


def test_http_mirror_missing_folder(served: tuple[str, Path], tmp_path: Path) -> None:
    base, _www = served
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(toy_spec("http://127.0.0.1:9/x.tar.gz"), tmp_path / "toy", mirror=base)
    # the user has set data_mirror already: the message names the folder the mirror lacks, not how to set one
    assert str(caught.value) == (f"dataset 'toy': mirror {base}/toy/ was not found (HTTP 404); copy the dataset into "
                                 "the mirror or fix data_mirror (the base URL that holds a folder per dataset, e.g. "
                                 "toy/)")
    assert not (tmp_path / "toy").exists() and leftovers(tmp_path) == []


def test_http_mirror_listing_a_file_it_lacks_names_that_file(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    (www / "mirror" / "toy").mkdir(parents=True)
    (www / "mirror" / "toy" / "index.html").write_text('<a href="gone.txt">gone.txt</a>')
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(toy_spec("http://127.0.0.1:9/x.tar.gz"), tmp_path / "toy", mirror=f"{base}/mirror")
    assert str(caught.value) == (f"could not download {base}/mirror/toy/gone.txt: HTTP 404 File not found. Check "
                                 f"that the mirror {base}/mirror is up and holds toy/, or fix data_mirror")


def test_http_mirror_that_is_down_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as caught:  # port 9 (discard): nothing listens there
        fetch_dataset(toy_spec("http://127.0.0.1:9/x.tar.gz"), tmp_path / "toy", mirror="http://127.0.0.1:9/mirror")
    message = str(caught.value)
    assert message.startswith("could not download http://127.0.0.1:9/mirror/toy/: ") and "refused" in message
    assert message.endswith("Check that the mirror http://127.0.0.1:9/mirror is up and holds toy/, or fix data_mirror")


def test_listing_links_skip_parent_absolute_and_query_links() -> None:
    html = (
        '<a href="../">..</a><a href="/abs/">a</a><a href="?C=N;O=D">sort</a><a href="http://x/y">x</a>'
        '<A HREF="sub/">sub/</A><a href="f%20g.txt">f g</a><a href="PROVENANCE.md">p</a>'
        '<a href="#top">t</a><a class="x" href=\'a&amp;b\'>a&b</a>'
    )
    assert listing_links(html) == ["a&b", "f%20g.txt", "sub/"]


def test_no_network_and_no_mirror(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/x.tar.gz"
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(toy_spec(url), tmp_path / "toy")
    assert url in str(caught.value) and "data_mirror" in str(caught.value)
    assert not (tmp_path / "toy").exists() and leftovers(tmp_path) == []


def test_user_folder_is_copied(tmp_path: Path) -> None:
    own = write_tree(tmp_path / "own", {**TOY_FILES, "PROVENANCE.md": b"# mine\n"})
    spec = DatasetSpec(name="mine", kind="text", format="text_lines", path=str(own))
    result = fetch_dataset(spec, tmp_path / "resources" / "mine")
    assert result == {"source": str(own), "manifest_sha256": expected_manifest(TOY_FILES)}
    assert (tmp_path / "resources" / "mine" / "data" / "sub" / "b.txt").read_bytes() == b"beta\n"
    assert (own / "PROVENANCE.md").exists()
