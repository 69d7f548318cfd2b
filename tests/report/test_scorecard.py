"""`roadmap report`: built from MLflow alone, it follows the records, and renders offline.

Runs are recorded by the real runner (fake milestones, real MLflow on SQLite); the page is
opened in headless Chromium through Playwright with every request that is not the file
itself or an embedded ``data:`` URI aborted and recorded. The screenshot is kept in
``tests/output/report.png``.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap import runner
from ai_roadmap.catalog import Target, load_catalog
from ai_roadmap.cli import app
from ai_roadmap.report.scorecard import collect
from ai_roadmap.report.scorepage import html_page, markdown, write_html, write_markdown
from ai_roadmap.result import Result
from ai_roadmap.settings import get_settings

ARTIFACTS = Path(__file__).resolve().parents[1] / "output"
TARGET = Target(metric="score", op=">=", threshold=0.8, dataset="fake")


def plotting_run(cfg):  # type: ignore[no-untyped-def]
    """A fake milestone that logs ``score`` and one PNG whose colour depends on it."""
    from PIL import Image

    out = Path(cfg.output_dir)
    shade = int(255 * float(cfg.value))
    Image.new("RGB", (40, 30), (shade, 40, 200)).save(out / "curve.png")
    return Result(
        metrics={"score": float(cfg.value)},
        dataset="fake-proxy" if cfg.proxy else "fake",
        proxy=bool(cfg.proxy),
        artifacts={"curve.png": out / "curve.png"},
    )


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, roadmap_home: Path):  # type: ignore[no-untyped-def]
    import fake_milestones

    runs = {"t.plot": plotting_run, "t.other": plotting_run}
    fake_milestones.install(
        monkeypatch, tmp_path / "conf", runs, TARGET, "value: 0.85\nproxy: false\n"
    )
    return runner.load_catalog()


def _row_html(page: str, item_id: str) -> str:
    match = re.search(rf"<tr data-id='{re.escape(item_id)}'>(.*?)</tr>", page)
    assert match, f"no row for {item_id}"
    return match.group(1)


def test_the_page_follows_the_recorded_metric(fake) -> None:  # type: ignore[no-untyped-def]
    runner.run_milestone("t.plot", "smoke", ["value=0.5"])
    first = html_page(collect(get_settings(), fake))
    row = _row_html(first, "t.plot")
    assert "score = 0.5" in row and ">fail<" in row
    assert "roadmap run t.plot --scale smoke value=0.5" in row  # the command that reproduces it
    assert "cores" in row and "GPU" in row  # the hardware tag
    assert ">not run<" in _row_html(first, "t.other")

    runner.run_milestone("t.plot", "smoke", ["value=0.9"])
    second = html_page(collect(get_settings(), fake))
    row = _row_html(second, "t.plot")
    assert "score = 0.9" in row and ">pass<" in row and "score = 0.5" not in second
    assert first != second
    # the embedded figure is the latest run's PNG, not the first one's
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", second)
    assert len(images) == 1
    import base64

    from PIL import Image

    pixel = Image.open(io.BytesIO(base64.b64decode(images[0]))).getpixel((0, 0))
    assert pixel == (int(255 * 0.9), 40, 200)


def test_proxy_and_progress_are_shown(fake) -> None:  # type: ignore[no-untyped-def]
    runner.run_milestone("t.plot", "quick", ["value=0.99", "proxy=true"])
    card = collect(get_settings(), fake, plots=False)
    row = _row_html(html_page(card), "t.plot")
    assert "class='proxy'" in row and "not measured" in row
    stage0 = card.stages[0]
    assert (stage0.milestones, stage0.run, stage0.passed) == (2, 1, 0)
    text = markdown(card)
    assert "| t.plot |" in text and "| proxy |" in text and "not measured" in text


def test_markdown_twin_writes_its_figures_beside_it(fake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner.run_milestone("t.plot", "smoke", ["value=0.9"])
    docs = tmp_path / "docs"
    out = write_markdown(collect(get_settings(), fake), docs / "results.md")
    text = out.read_text(encoding="utf-8")
    (link,) = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert link.startswith("results_files/") and (docs / link).stat().st_size > 50
    assert sorted(p.name for p in docs.iterdir()) == ["results.md", "results_files"]


def test_cli_report_has_one_row_per_catalog_item(roadmap_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    result = CliRunner().invoke(app, ["report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    ids = re.findall(r"<tr data-id='([^']+)'>", page)
    assert ids == [item.id for item in load_catalog().items]
    assert out.with_suffix(".md").exists()
    bad = CliRunner().invoke(app, ["report", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "is a folder" in bad.output
    bad = CliRunner().invoke(app, ["report", "--start", "soon"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: run `apt-get install -y chromium`", pytrace=False)
    return path


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=_chromium(), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.slow
def test_page_renders_offline_in_chromium(fake, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner.run_milestone("t.plot", "smoke", ["value=0.9"])
    runner.run_milestone("t.other", "smoke", ["value=0.3"])
    page_file = write_html(collect(get_settings(), fake), tmp_path / "report.html")
    blocked: list[str] = []

    def gate(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url == page_file.as_uri() or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page.route("**/*", gate)
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    assert blocked == []
    loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
    assert loaded == [True, True]
    assert page.locator("#scorecard tr[data-id]").count() == len(fake.items)
    assert "score = 0.9" in page.locator("tr[data-id='t.plot']").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_the_checked_in_results_page_is_a_generated_record() -> None:
    """docs/results.md (made by `make results`): the generator's header, rows of catalog
    items only, each with its machine and command, and every figure it links present."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    text = (docs / "results.md").read_text(encoding="utf-8")
    assert "by `roadmap report --markdown` from the MLflow store on " in text.splitlines()[2]
    catalog = {item.id: item for item in load_catalog().items}
    rows = re.findall(r"^\| (s\d\.[a-z0-9]+) \| .*\|$", text, flags=re.M)
    assert rows and len(rows) == len(set(rows)) and set(rows) <= set(catalog)
    for line in text.splitlines():
        if line.startswith("| s") and "| milestone |" in line and "| not run |" not in line:
            item_id = line.split("|")[1].strip()
            assert f"`roadmap run {item_id} --scale " in line and "cores" in line, item_id
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links and all((docs / link).stat().st_size > 50 for link in links)
