"""Fetch a dataset from a local folder, a mirror or its archive URL, verify it, and publish it atomically."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import logging
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from html import unescape
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from seqsuite.data.registry import DatasetSpec

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60
PROGRESS_EVERY_S = 10.0
log = logging.getLogger("seqsuite")
MAX_MIRROR_DEPTH = 32
PROVENANCE = "PROVENANCE.md"
HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
ARCHIVE_SUFFIXES = {".tar.gz": "tar", ".tgz": "tar", ".tar": "tar", ".zip": "zip"}
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)
OFFLINE_HINT = (
    "Without internet access, point seqsuite at a local copy: "
    "snakemake --config data_mirror=<folder or http(s) base URL>"
)


class DownloadError(RuntimeError):
    """A dataset could not be fetched, extracted or verified."""


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest (sha256 unless named, e.g. md5) of one file, read in chunks."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256sum_line(digest: str, relative: bytes) -> bytes:
    """One line of GNU `sha256sum` output, escaping names as coreutils 9 does."""
    name = b"./" + relative
    if not any(char in name for char in (b"\\", b"\n", b"\r")):
        return digest.encode() + b"  " + name + b"\n"
    escaped = name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    return b"\\" + digest.encode() + b"  " + escaped + b"\n"


def manifest_sha256(folder: Path) -> str:
    """The sha256 of the sorted `sha256sum` listing of folder's files, every PROVENANCE.md excluded."""
    folder = Path(folder)
    files = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if name != PROVENANCE and path.is_file() and not path.is_symlink():
                files.append((os.fsencode(path.relative_to(folder).as_posix()), path))
    digest = hashlib.sha256()
    for relative, path in sorted(files):
        digest.update(_sha256sum_line(file_digest(path), relative))
    return digest.hexdigest()


def _network_error(url: str, error: BaseException, hint: str) -> DownloadError:
    """A DownloadError naming the URL, the reason and what to do (hint)."""
    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
    if isinstance(error, urllib.error.HTTPError):
        reason = f"HTTP {error.code} {error.reason}"
    return DownloadError(f"could not download {url}: {reason}. {hint}")


def progress_line(url: str, done: int, total: int | None, seconds: float) -> str:
    """How far a download is: bytes, share of the total when known, and rate."""
    share = f" of {total / 2**20:,.1f} MiB ({100 * done / total:.0f}%)" if total else " MiB"
    return f"downloading {url}: {done / 2**20:,.1f}{share}, {done / 2**20 / max(seconds, 1e-9):.1f} MiB/s"


def _stream(url: str, out: BinaryIO, hint: str) -> None:
    """Stream url into out, logging its progress now and then; a network failure or short read: DownloadError."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            expected = response.headers.get("Content-Length")
            total = int(expected) if expected is not None and expected.isdigit() else None
            started = last = time.monotonic()
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                if time.monotonic() - last >= PROGRESS_EVERY_S:
                    last = time.monotonic()
                    log.info(progress_line(url, out.tell(), total, last - started))
            if out.tell() >= CHUNK_BYTES:  # not for each small file of a crawled mirror
                log.info(progress_line(url, out.tell(), total, time.monotonic() - started))
    except NETWORK_ERRORS as error:
        raise _network_error(url, error, hint) from error
    if expected is not None and expected.isdigit() and out.tell() != int(expected):
        raise _network_error(url, EOFError(f"got {out.tell()} of {expected} bytes"), hint)


def _download(url: str, target: Path, hint: str) -> None:
    """Stream url into the file target."""
    with open(target, "wb") as out:
        _stream(url, out, hint)


def _copy_folder(name: str, source: Path, dest: Path, staging: Path, fix: str) -> str:
    """Copy source's files, less PROVENANCE.md, into staging without writing to source; returns source."""
    if not source.is_dir():
        raise DownloadError(f"dataset {name!r}: folder {source} does not exist; {fix}")
    src, dst = source.resolve(), dest.resolve()
    if src == dst or src in dst.parents or dst in src.parents:
        raise DownloadError(f"dataset {name!r}: folder {source} overlaps the destination {dest}; {fix}")
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns(PROVENANCE), dirs_exist_ok=True)
    return str(source)


def listing_links(html: str) -> list[str]:
    """The relative file and sub-folder links of a directory listing, without parent/absolute/query links."""
    links = set()
    for href in map(unescape, HREF.findall(html)):
        parts = urllib.parse.urlsplit(href)
        if parts.scheme or parts.netloc or parts.query or parts.fragment or href.startswith("/"):
            continue
        name = urllib.parse.unquote(parts.path).removesuffix("/")
        if name in ("", ".", "..", PROVENANCE) or "/" in name or "\\" in name:
            continue
        links.add(href)
    return sorted(links)


def _crawl(url: str, target: Path, hint: str, depth: int = 0) -> int:
    """Download every file listed under the directory URL into target, recursively; returns the file count. A
    network error names the URL and hint."""
    if depth > MAX_MIRROR_DEPTH:
        raise DownloadError(f"mirror listing {url} nests over {MAX_MIRROR_DEPTH} folders deep; is it a loop?")
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    page = io.BytesIO()
    _stream(url, page, hint)
    for href in listing_links(page.getvalue().decode("utf-8", errors="replace")):
        name = urllib.parse.unquote(href.removesuffix("/"))
        if href.endswith("/"):
            count += _crawl(urllib.parse.urljoin(url, href), target / name, hint, depth + 1)
        else:
            _download(urllib.parse.urljoin(url, href), target / name, hint)
            count += 1
    return count


def _archive_kind(url: str) -> str:
    """'tar' or 'zip', from the suffix of the URL's path."""
    path = urllib.parse.urlsplit(url).path.lower()
    for suffix, kind in ARCHIVE_SUFFIXES.items():
        if path.endswith(suffix):
            return kind
    raise DownloadError(f"unknown archive type: {url}; it must end in {', '.join(ARCHIVE_SUFFIXES)}")


def _check_zip_member(info: zipfile.ZipInfo, url: str) -> None:
    """Reject a zip member with an absolute path, a '..' component or a symlink mode."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    absolute = name.startswith("/") or (len(name) > 1 and name[1] == ":")
    if absolute or ".." in parts or (info.external_attr >> 16) & 0o170000 == 0o120000:
        raise DownloadError(f"refusing unsafe member {info.filename!r} in archive {url}; do not use it")


def _extract(archive: Path, target: Path, url: str) -> None:
    """Extract a tar or zip archive into target safely; a corrupt or unsafe one raises DownloadError."""
    try:
        if _archive_kind(url) == "tar":
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
                while tar.fileobj.read(CHUNK_BYTES):  # read to the end: gzip checks its length and CRC
                    pass
        else:
            with zipfile.ZipFile(archive) as zipped:
                for info in zipped.infolist():
                    _check_zip_member(info, url)
                zipped.extractall(target)
    except tarfile.FilterError as error:
        raise DownloadError(f"refusing unsafe member in archive {url}: {error}") from error
    except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error, EOFError) as error:
        raise DownloadError(
            f"could not extract archive {url}: {error}; it is truncated or corrupt: rerun to download it again"
        ) from error
    except OSError as error:  # disk full, permissions: the archive may be fine
        raise DownloadError(f"could not extract archive {url} into {target}: {error}; free space or fix "
                            "permissions there, then rerun") from error


def _keep_paths(spec: DatasetSpec, extracted: Path, staging: Path) -> None:
    """Copy archive_root/<p> for each kept path p (everything if keep is empty) into staging/<p>."""
    root = extracted / spec.archive_root
    if not root.is_dir():
        raise DownloadError(
            f"dataset {spec.name!r}: archive {spec.url} has no folder {spec.archive_root!r}; fix archive_root"
        )
    for relative in spec.keep or (".",):
        if relative.startswith("/") or ".." in PurePosixPath(relative).parts:
            raise DownloadError(f"dataset {spec.name!r}: kept path {relative!r} must be relative, no '..'")
        source, target = root / relative, staging / relative
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            raise DownloadError(
                f"dataset {spec.name!r}: kept path {relative!r} is not in archive {spec.url} "
                f"under {spec.archive_root or 'its top level'!r}; fix 'keep' or 'archive_root'"
            )


def _verify_archive(spec: DatasetSpec, archive: Path, url: str) -> None:
    """Check the archive against each checksum the spec gives (archive_sha256, archive_md5)."""
    for algorithm, expected in (("sha256", spec.archive_sha256), ("md5", spec.archive_md5)):
        if expected and (actual := file_digest(archive, algorithm)) != expected.lower():
            raise DownloadError(
                f"archive {url} has {algorithm} {actual}, expected {expected}; "
                "the download is corrupt or the file changed upstream; re-download or use data_mirror"
            )


def _fetch_archive(spec: DatasetSpec, staging: Path, work: Path) -> str:
    """Download spec.url into work, verify its checksums, extract it and keep spec.keep; returns the URL."""
    url = str(spec.url)
    archive = work / "archive"
    _archive_kind(url)  # an unknown type fails before the download
    _download(url, archive, OFFLINE_HINT)
    _verify_archive(spec, archive, url)
    _extract(archive, work / "extracted", url)
    _keep_paths(spec, work / "extracted", staging)
    return url


def _fill(spec: DatasetSpec, mirror: str | None, dest: Path, staging: Path, work: Path) -> str:
    """Fill staging from the first available source; returns the URL or path used."""
    if spec.path:
        return _copy_folder(spec.name, Path(spec.path).expanduser(), dest, staging, "fix its 'path'")
    if not mirror:
        return _fetch_archive(spec, staging, work)
    folder = spec.mirror_dir or spec.name
    if mirror.lower().startswith(("http://", "https://")):
        url = f"{mirror.rstrip('/')}/{urllib.parse.quote(folder)}/"
        hint = f"Check that the mirror {mirror} is up and holds {folder}/, or fix data_mirror"  # not how to set one
        try:
            found = _crawl(url, staging, hint)
        except DownloadError as error:
            if not _not_found(error, url):
                raise
            raise DownloadError(f"dataset {spec.name!r}: mirror {url} was not found (HTTP 404); copy the dataset into "
                                f"the mirror or fix data_mirror (the base URL that holds a folder per dataset, e.g. "
                                f"{folder}/)") from error
        if found == 0:
            raise DownloadError(f"dataset {spec.name!r}: mirror {url} lists no files; fix data_mirror")
        return url
    fix = "copy the dataset into the mirror or fix data_mirror"
    return _copy_folder(spec.name, Path(mirror).expanduser() / folder, dest, staging, fix)


def _not_found(error: DownloadError, url: str) -> bool:
    """Whether error is url's own HTTP 404 (not that of a file its listing names)."""
    cause = error.__cause__
    return isinstance(cause, urllib.error.HTTPError) and cause.code == 404 and cause.filename == url


def _manifest_fix(spec: DatasetSpec, source: str) -> str:
    """What to do about a manifest mismatch, by where the files came from: downloading the same copy again only
    helps when the download itself went wrong."""
    if spec.path is not None:
        return f"the files under {spec.path} changed; restore them, or update (or drop) this dataset's manifest_sha256"
    if source == str(spec.url):
        return ("the download is corrupt or the file changed upstream; rerun to download again, or point data_mirror "
                "at a copy of the registry's version")
    return (f"the mirror's copy is not the registry's version (a file changed, is missing or was added); copy the "
            f"dataset into {source} again (its PROVENANCE.md says from where), or fix data_mirror")


def _verify_manifest(spec: DatasetSpec, staging: Path, source: str) -> str:
    """The manifest sha256 of staging; raises DownloadError if it differs from spec.manifest_sha256, naming the
    files' count and size (which a dataset's PROVENANCE.md gives) and what to do."""
    actual = manifest_sha256(staging)
    if spec.manifest_sha256 and actual != spec.manifest_sha256.lower():
        files = [path for path in staging.rglob("*") if path.is_file()]
        raise DownloadError(
            f"dataset {spec.name!r} from {source}: manifest sha256 is {actual}, expected {spec.manifest_sha256} "
            f"({len(files):,} files, {sum(path.stat().st_size for path in files):,} bytes); "
            f"{_manifest_fix(spec, source)}"
        )
    return actual


def fetch_dataset(spec: DatasetSpec, dest: Path, mirror: str | None = None) -> dict[str, str]:
    """Fill dest atomically with the dataset's verified files; returns the source used and its manifest."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        staging = work / "files"
        staging.mkdir()
        source = _fill(spec, mirror, dest, staging, work)
        actual = _verify_manifest(spec, staging, source)
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        os.replace(staging, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"source": source, "manifest_sha256": actual}
