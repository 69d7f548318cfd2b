"""The serving image, really built and run here: mmdebstrap + buildah, no Docker engine.

1. A base image made locally: ``mmdebstrap --variant=minbase`` of Debian bookworm with
   Python 3.11 (``--variant=essential``: no apt; docs, man pages, locales, the Perl that
   usrmerge pulls and the stdlib's bytecode left out),
   added to an empty image with ``buildah from scratch`` and committed. It is cached by
   a hash of what went into it, so later builds reuse it.
2. The project's one ``Dockerfile`` built on it (``--build-arg PYTHON_IMAGE=<base>``) with
   ``buildah bud --isolation chroot``, from a build context holding the exported models
   and a wheelhouse of the ``serve`` extra (so the build needs no package index).
3. The image run: ``buildah run --isolation chroot`` (host network) starts Gunicorn on
   127.0.0.1 in its own process group; /readyz, one prediction and /docs are asked
   from outside, then the group is killed and the working container removed.

Image storage (vfs driver) lives under ``<ROADMAP_HOME>/containers``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError

SUITE = "bookworm"
PACKAGES = ("python3.11-minimal", "libpython3.11-stdlib", "python3.11-venv", "passwd")
PACKAGES += ("usr-is-merged", "libstdc++6")  # libstdc++: NumPy's compiled parts
EXCLUDED = ("/usr/share/man/*", "/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/info/*")
KEPT = ("/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias")
# usrmerge (and the Perl it pulls) only matters while packages install: 46 MB
PURGED = ("usrmerge", "libfile-find-rule-perl", "libnumber-compare-perl", "libtext-glob-perl")
PURGED += ("perl", "perl-modules-5.36", "libperl5.36")
IMAGE = "localhost/ai-roadmap-serve"


@dataclass
class ImageReport:
    base: str
    base_mb: float
    base_seconds: float  # 0 when the cached base was reused
    image: str
    image_mb: float
    build_seconds: float
    ready_seconds: float
    prediction: dict[str, Any]
    docs_ok: bool


def tools_missing() -> list[str]:
    return [t for t in ("mmdebstrap", "buildah") if shutil.which(t) is None]


def require_tools() -> None:
    missing = tools_missing()
    if missing:
        raise RoadmapError(
            f"{' and '.join(missing)} not found: run `make system-deps` (Debian: "
            "apt-get install mmdebstrap buildah) to build the serving image"
        )


def buildah(store: Path) -> list[str]:
    return ["buildah", "--storage-driver", "vfs", "--root", str(store / "root"),
            "--runroot", str(store / "run")]  # fmt: skip


def _run(command: list[str], what: str, timeout: float = 900) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RoadmapError(f"{what} failed ({done.returncode}): {' / '.join(tail)}")
    return done.stdout


def base_key() -> str:
    """What the base is made of: a change in any of it makes a new base."""
    text = json.dumps([SUITE, PACKAGES, EXCLUDED, KEPT, PURGED, "essential-2"])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def image_size_mb(store: Path, name: str) -> float:
    """The size ``buildah images`` reports for ``name`` (MB = 10⁶ bytes)."""
    listed = json.loads(_run([*buildah(store), "images", "--json"], "buildah images") or "[]")
    for image in listed:
        if any(n.startswith(name) for n in image.get("names") or []):
            return _megabytes(str(image["size"]))
    raise RoadmapError(f"image {name} is not in {store}")


def _megabytes(human: str) -> float:
    """buildah's "264 MB" (decimal units, three significant digits) in MB."""
    number, _, unit = human.strip().partition(" ")
    scale = {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1.0, "GB": 1e3}.get(unit.strip())
    if scale is None:
        raise RoadmapError(f"buildah reported an image size {human!r} this reader does not parse")
    return float(number) * scale


def has_image(store: Path, name: str) -> bool:
    try:
        image_size_mb(store, name)
    except RoadmapError:
        return False
    return True


def make_base(store: Path) -> tuple[str, float]:
    """(base image name, seconds spent making it; 0 when reused)."""
    name = f"localhost/ai-roadmap-base:{base_key()}"
    if has_image(store, name):
        return name, 0.0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="roadmap-base-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        # essential: no apt in the image; the Dockerfile installs with pip alone
        command = ["mmdebstrap", "--variant=essential", f"--include={','.join(PACKAGES)}"]
        command += [f"--dpkgopt=path-exclude={p}" for p in EXCLUDED]
        command += [f"--dpkgopt=path-include={p}" for p in KEPT]
        command += [
            f'--customize-hook=chroot "$1" dpkg --purge {" ".join(PURGED)}',
            '--customize-hook=ln -sf python3.11 "$1"/usr/bin/python; '
            'ln -sf python3.11 "$1"/usr/bin/python3',
            # the stdlib's bytecode, as the official slim image drops it
            '--customize-hook=find "$1/usr/lib/python3.11" -depth -name __pycache__ '
            "-exec rm -rf {} +",
            '--customize-hook=rm -rf "$1"/var/log/* "$1"/var/cache/*',
            SUITE,
            str(rootfs),
        ]
        _run(command, "mmdebstrap", timeout=1200)
        box = _run([*buildah(store), "from", "scratch"], "buildah from scratch").strip()
        try:
            _run([*buildah(store), "add", box, str(rootfs), "/"], "buildah add")
            env = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            _run([*buildah(store), "config", "--env", env, "--env", "LANG=C.UTF-8", box], "config")
            _run([*buildah(store), "commit", "-q", box, name], "buildah commit")
        finally:
            subprocess.run([*buildah(store), "rm", box], capture_output=True, check=False)
    return name, time.perf_counter() - started


def build_context(project: Path, models: Path, out: Path, requirements: list[str]) -> Path:
    """The files the Dockerfile reads, the exported models and a wheelhouse of ``serve``."""
    out.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "Dockerfile", ".dockerignore"):
        shutil.copy2(project / name, out / name)
    shutil.copytree(project / "src", out / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(models, out / "build" / "models")
    wheels = out / "build" / "wheels"
    wheels.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels), "--only-binary=:all:"]
    _run([*pip, *requirements, "setuptools>=77", "wheel"], "pip download (the serve wheelhouse)")
    return out


def build_image(store: Path, context: Path, base: str, models: list[str], tag: str) -> float:
    started = time.perf_counter()
    command = [*buildah(store), "bud", "-q", "--format", "docker", "--isolation", "chroot"]
    command += ["--build-arg", f"PYTHON_IMAGE={base}", "--build-arg", f"MODELS={','.join(models)}"]
    _run([*command, "-t", tag, str(context)], "buildah bud (the Dockerfile)", timeout=1800)
    return time.perf_counter() - started


def _get(url: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


@contextmanager
def running_container(store: Path, tag: str, port: int, timeout_s: float = 120) -> Any:
    """Gunicorn inside the image on 127.0.0.1:port; yields (base URL, seconds to ready)."""
    box = _run([*buildah(store), "from", "-q", tag], "buildah from").strip()
    gunicorn = ["gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w", "2"]
    gunicorn += ["-b", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
    command = [*buildah(store), "run", "--isolation", "chroot", box, "--", *gunicorn]
    started = time.perf_counter()
    log = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in the finally below
    process = subprocess.Popen(
        [*command, "ai_roadmap.serving.app:create_app()"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
                raise RoadmapError(f"the container exited ({process.returncode}): {tail}")
            with suppress(OSError):
                if _get(f"{url}/readyz")[0] == 200:
                    break
            if time.perf_counter() - started > timeout_s:
                raise RoadmapError(f"the container was not ready within {timeout_s:g} s")
            time.sleep(0.2)
        yield url, time.perf_counter() - started
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()
        subprocess.run([*buildah(store), "rm", box], capture_output=True, check=False)


def measure_image(
    store: Path, project: Path, models_dir: Path, models: list[str], record: dict[str, Any],
    requirements: list[str], port: int,
) -> ImageReport:  # fmt: skip
    """Build the base (or reuse it) and the image, run it, ask it; every figure measured."""
    require_tools()
    store.mkdir(parents=True, exist_ok=True)
    base, base_seconds = make_base(store)
    tag = f"{IMAGE}:{'-'.join(models)}"
    with tempfile.TemporaryDirectory(prefix="roadmap-image-") as tmp:
        context = build_context(project, models_dir, Path(tmp) / "context", requirements)
        build_seconds = build_image(store, context, base, models, tag)
    with running_container(store, tag, port) as (url, ready):
        status, body = _get(f"{url}/v1/{models[0]}/predict", record)
        prediction = json.loads(body) if status == 200 else {"status": status}
        docs_status, page = _get(f"{url}/docs")
        docs_ok = docs_status == 200 and b"swagger" in page.lower()
    return ImageReport(
        base=base,
        base_mb=image_size_mb(store, base),
        base_seconds=base_seconds,
        image=tag,
        image_mb=image_size_mb(store, tag),
        build_seconds=build_seconds,
        ready_seconds=ready,
        prediction=prediction,
        docs_ok=docs_ok,
    )
