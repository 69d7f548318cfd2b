"""Canary routing inside the running service: a sticky, hash-based share to the challenger.

The continuous-training flow (:mod:`ai_roadmap.mlops.flow`) steers a running
service without restarting it by replacing one small file beside the models,
``<model_dir>/<name>.routing.json``::

    {"champion": "churn@v3", "challenger": "churn@v5", "share": 0.2, "salt": "v5"}

(folder names under ``model_dir``; ``challenger`` may be null). Every request
stats the file (a few microseconds); when its identity (inode, size, mtime)
changed, the worker reads it and loads the named folders once. The flow writes
the file to a temporary name and renames it over the old one (``os.replace`` is
atomic on POSIX), so a worker reads either the old routing or the new one, never
half of it. Each Gunicorn worker does this on its own, with no restart.

A request goes to the challenger when

    bucket(key) = int(sha256(salt ":" key)[:8], 16) / 2³²  <  share

with ``key`` the ``X-Routing-Key`` header (a customer id), else the client's
address. The bucket is uniform on [0, 1), so about ``share`` of the keys go to
the challenger; it depends on the key alone, so a customer stays on one arm for
the whole canary (sticky); a new ``salt`` per canary draws a new set of keys.
Without a routing file the service serves the folder it started with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.serving.quality import set_canary_share

ROUTING_HEADER = "x-routing-key"
ROLE_HEADER = "x-model-role"
CHAMPION, CHALLENGER = "champion", "challenger"
log = logging.getLogger(__name__)


def routing_path(model_dir: Path, name: str) -> Path:
    """Where the service looks for the routing of model ``name``."""
    return model_dir / f"{name}.routing.json"


def bucket(key: str, salt: str) -> float:
    """The key's place in [0, 1): the first 32 bits of sha256(salt:key), over 2³²."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def goes_to_challenger(key: str, salt: str, share: float) -> bool:
    """Sticky: the same key and salt always give the same answer."""
    return share > 0 and bucket(key, salt) < share


@dataclass(frozen=True)
class Routing:
    """Which exported folders serve a model, and the challenger's share of keys."""

    champion: str
    challenger: str | None = None
    share: float = 0.0
    salt: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"routing share must be in [0, 1], got {self.share}")
        for folder in (self.champion, self.challenger):
            if folder is not None and (not folder or "/" in folder or folder.startswith(".")):
                raise ValueError(f"routing folder must be a plain name under model_dir: {folder!r}")


def read_routing(path: Path) -> Routing | None:
    """The routing in ``path``; None when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return Routing(**json.loads(text))


def write_routing(path: Path, routing: Routing) -> None:
    """Replace the routing file atomically: a temporary sibling, then ``os.replace``.

    The new file's mtime is set past the old one's: file timestamps tick coarsely
    (a few ms) and an inode number can be reused, so two quick writes of the same
    size could otherwise look like one file to the routers.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(routing), handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            previous = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            previous = 0
        stamp = max(time.time_ns(), previous + 1)
        os.utime(tmp, ns=(stamp, stamp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CanaryRouter:
    """Per worker: the routing file's current models, re-read when the file changes.

    ``load(folder)`` builds a loaded served model from an exported folder; loaded
    folders are kept, so switching back to the champion loads nothing. A routing
    file that cannot be read or names a missing folder keeps the last good routing.
    """

    def __init__(self, model_dir: Path, name: str, default: Any, load: Callable[[Path], Any]):
        self.path = routing_path(model_dir, name)
        self.name = name
        self.model_dir = model_dir
        self.default = default
        self._load = load
        self._stamp: tuple[int, int, int] | None = None
        self._loaded: dict[str, Any] = {}
        self.routing: Routing | None = None

    def _model(self, folder: str) -> Any:
        if folder not in self._loaded:
            self._loaded[folder] = self._load(self.model_dir / folder)
        return self._loaded[folder]

    def refresh(self) -> None:
        """Re-read the routing file if its identity changed since the last look."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._stamp is not None:  # the canary ended: the gauge goes back to 0
                set_canary_share(self.name, 0.0)
            self._stamp, self.routing = None, None
            return
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp == self._stamp:
            return
        try:
            routing = read_routing(self.path)
            if routing is not None:
                self._model(routing.champion)
                if routing.challenger:
                    self._model(routing.challenger)
        except Exception as exc:  # a bad file must not take the service down
            log.warning("routing file %s ignored: %s", self.path, exc)
            return
        self._stamp, self.routing = stamp, routing
        # the roadmap_canary_share gauge says what this worker now routes
        set_canary_share(self.name, routing.share if routing and routing.challenger else 0.0)

    def pick(self, key: str) -> tuple[Any, str]:
        """(served model, role) for a request with this routing key."""
        self.refresh()
        routing = self.routing
        if routing is None:
            return self.default, CHAMPION
        if routing.challenger and goes_to_challenger(key, routing.salt, routing.share):
            return self._model(routing.challenger), CHALLENGER
        return self._model(routing.champion), CHAMPION


def routing_key(headers: Any, client_host: str | None) -> str:
    """The request's routing key: the ``X-Routing-Key`` header, else the client's address."""
    return str(headers.get(ROUTING_HEADER) or client_host or "")
