"""The monitoring dashboard: the Grafana JSON we ship, and the same panels rendered without Grafana.

Grafana is in none of the package registries here, so ``dashboards/roadmap-monitor.json``
(package data; import it into a Grafana with a Prometheus data source) is also read
by :func:`render_dashboard`: every panel's PromQL goes to the Prometheus HTTP API
(``/api/v1/query_range`` for time series, ``/api/v1/query`` for stat and bar panels),
is drawn with matplotlib and embedded as a PNG in one self-contained HTML page, which
headless Chromium then screenshots (:func:`screenshot`). Grafana's ``$__rate_interval``
becomes the rules' rate window.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops.prometheus import query, query_range

DASHBOARD = "roadmap-monitor.json"


def grafana_dashboard() -> dict[str, Any]:
    """The shipped Grafana dashboard (package data)."""
    text = resources.files("ai_roadmap.mlops").joinpath("dashboards", DASHBOARD).read_text()
    return json.loads(text)


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's ``{{label}}`` legend format filled from a series' labels."""
    filled = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
    return filled.strip() or json.dumps(labels)


@dataclass(frozen=True)
class Panel:
    """One rendered panel: title, type, how many series it drew, and the PNG."""

    title: str
    kind: str
    series: int
    png: bytes


def _threshold(panel: dict[str, Any]) -> float | None:
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    values = [s["value"] for s in steps if s.get("value") is not None]
    return values[0] if values else None


def _timeseries(ax: Any, url: str, panel: dict[str, Any], span: tuple[float, float, float]) -> int:
    start, end, step = span
    drawn = 0
    for target in panel["targets"]:
        for labels, points in query_range(url, target["expr"], start, end, step):
            name = legend(target["legendFormat"], labels)
            marker = "o" if len(points) < 3 else None  # a one-scrape series is still seen
            ax.plot(
                [t - start for t, _ in points], [v for _, v in points], marker=marker, label=name
            )
            drawn += 1
    bar = _threshold(panel)
    if bar is not None:
        ax.axhline(bar, color="red", linestyle="--", linewidth=1, label=f"bar {bar:g}")
    ax.set_xlabel("seconds since the start of the run")
    return drawn


def _stat(ax: Any, url: str, panel: dict[str, Any]) -> int:
    rows = [
        (legend(t["legendFormat"], labels), value)
        for t in panel["targets"]
        for labels, value in query(url, t["expr"])
    ]
    ax.axis("off")
    for k, (name, value) in enumerate(rows):
        ax.text(0.02, 0.85 - 0.22 * k, f"{name}: {value:g}", fontsize=13, transform=ax.transAxes)
    if not rows:
        ax.text(0.02, 0.5, "no series", fontsize=13, transform=ax.transAxes)
    return len(rows)


def _bars(ax: Any, url: str, panel: dict[str, Any]) -> int:
    """Cumulative ``le`` buckets → the count in each bucket."""
    rows = sorted(
        (float(labels["le"]), value) for labels, value in query(url, panel["targets"][0]["expr"])
    )
    edges = [le for le, _ in rows]
    counts = [b - a for (_, a), (_, b) in zip([(0.0, 0.0), *rows[:-1]], rows, strict=True)]
    finite = [(le, c) for le, c in zip(edges, counts, strict=True) if le != float("inf")]
    ax.bar([f"≤{le:g}" for le, _ in finite], [c for _, c in finite], color="tab:blue")
    ax.set_ylabel("predictions")
    return len(rows)


def render_panel(url: str, panel: dict[str, Any], span: tuple[float, float, float]) -> Panel:
    """One panel's figure from Prometheus, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 3.4), dpi=90)
    if panel["type"] == "timeseries":
        drawn = _timeseries(ax, url, panel, span)
        if drawn:
            ax.legend(fontsize=7, loc="upper left")
    elif panel["type"] == "stat":
        drawn = _stat(ax, url, panel)
    else:
        drawn = _bars(ax, url, panel)
    ax.set_title(panel["title"], fontsize=11)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return Panel(panel["title"], panel["type"], drawn, buffer.getvalue())


def render_dashboard(
    url: str,
    out: Path,
    span: tuple[float, float, float],
    rate_window: str,
    thresholds: dict[str, float] | None = None,
) -> list[Panel]:
    """Every panel of the Grafana dashboard from Prometheus, into ``out`` (one HTML file).

    ``span`` is (start, end, step) in Unix seconds; ``thresholds`` maps a panel's
    title to the bar drawn on it (the milestone's bars rather than the JSON's defaults).
    """
    dashboard = grafana_dashboard()
    panels = []
    for spec in dashboard["panels"]:
        spec = json.loads(json.dumps(spec).replace("$__rate_interval", rate_window))
        if thresholds and spec["title"] in thresholds:
            steps = [{"color": "green", "value": None}, {"value": thresholds[spec["title"]]}]
            spec["fieldConfig"]["defaults"]["thresholds"] = {"steps": steps}
        panels.append(render_panel(url, spec, span))
    cells = "\n".join(
        f'<figure><img alt="{html.escape(p.title)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.png).decode()}"><figcaption>{html.escape(p.title)} '
        f"({p.series} series)</figcaption></figure>"
        for p in panels
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(dashboard['title'])}</title><style>"
        "body{font-family:sans-serif;margin:16px;background:#fff}"
        "main{display:grid;grid-template-columns:1fr 1fr;gap:12px}"
        "figure{margin:0;border:1px solid #ccc;padding:4px}img{width:100%}"
        f"</style></head><body><h1>{html.escape(dashboard['title'])}</h1>"
        f"<p>Rendered from Prometheus at {html.escape(url)} by ai-roadmap "
        f"(the panels of {DASHBOARD}).</p><main>{cells}</main></body></html>"
    )
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return panels


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RoadmapError("chromium is not installed; run `apt-get install -y chromium`")


def headless(page: Path, flags: list[str], timeout_s: float = 90) -> tuple[int | None, str]:
    """Run headless Chromium on a local page with ``flags``; (exit code, end of stderr).

    A throw-away profile, no network fetches beyond the page, and its own process group, so
    the renderer children are stopped with it however it ends.
    """
    import tempfile

    from ai_roadmap.serving.server import stop_server

    with tempfile.TemporaryDirectory(prefix="roadmap-chromium-") as profile:
        command = [
            chromium_binary(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            *flags,
            page.resolve().as_uri(),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            err = process.communicate(timeout=timeout_s)[1].decode(errors="replace")
        except subprocess.TimeoutExpired:
            err = f"timed out after {timeout_s:.0f} s"
        finally:
            stop_server(process)
    return process.returncode, err[-500:]


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1400, 1900)) -> Path:
    """Headless Chromium's screenshot of a local HTML file (offline: no network fetches)."""
    flags = ["--hide-scrollbars", f"--window-size={size[0]},{size[1]}", f"--screenshot={png}"]
    code, err = headless(page, flags)
    if code != 0 or not png.exists():
        raise RoadmapError(f"chromium screenshot failed ({code}): {err}")
    return png


def blankness(png: Path) -> tuple[float, int]:
    """(standard deviation of the grey levels, number of distinct colours) of an image."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        rgb = np.asarray(image.convert("RGB"))
    grey = rgb.mean(axis=2)  # (H, W, 3) -> (H, W)
    colours = len(np.unique(rgb.reshape(-1, 3), axis=0))
    return float(grey.std()), colours
