"""``/docs`` and ``/redoc`` render with no network: bundled assets, checked in a real browser.

The HTML must reference only the app's own ``/static/...`` files; then a real
uvicorn server is opened in headless Chromium (Playwright) with every request
that leaves the server aborted and recorded, the page must render its title and
the titanic operation, and nothing may have tried to leave. Screenshots go to
``tests/output/``.

Needs Chromium: ``apt-get install -y chromium`` (never ``playwright install``).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from ai_roadmap.serving.app import create_app
from ai_roadmap.settings import Settings

ARTIFACTS = Path(__file__).resolve().parents[1] / "output"
TITLE = "ai-roadmap prediction service"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ASSET_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_reference_only_bundled_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = _asset_urls(response.text)
    assert urls, f"{page} references no assets at all"
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", response.text)
    assert all(url.startswith("/static/") for url in urls), urls
    scripts = [url for url in urls if url.endswith(".js")]
    assert scripts, f"{page} loads no script"
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        suffix = Path(url).suffix
        if suffix in ASSET_TYPES:
            assert asset.headers["content-type"].startswith(ASSET_TYPES[suffix]), url
            assert len(asset.content) > 1000, url


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            f"Chromium is not installed ({path} missing): run `apt-get install -y chromium` "
            "(the docs test drives the Debian Chromium through Playwright; "
            "never `playwright install`)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def base_url(serve_settings: Settings) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread, over the fixture models."""
    config = uvicorn.Config(
        create_app(serve_settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    (sock,) = [s for srv in server.servers for s in srv.sockets]
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# page -> (selector, text it must contain) the rendered page must show
RENDERED = {
    "docs": [
        (".swagger-ui .info .title", TITLE),
        ('.opblock-summary-path[data-path="/v1/titanic/predict"]', "/v1/titanic/predict"),
    ],
    "redoc": [
        ("h1", TITLE),
        ("h2", "Predict Survived for one record"),
    ],
}


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_page_renders_in_chromium_with_the_network_blocked(
    browser: object, base_url: str, page: str
) -> None:
    seen: list[str] = []
    blocked: list[str] = []
    errors: list[str] = []

    def gate(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(base_url + "/"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    try:
        context.route("**/*", gate)
        tab = context.new_page()
        tab.on("request", lambda request: seen.append(request.url))
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(f"{base_url}/{page}", wait_until="load", timeout=30_000)
        for selector, text in RENDERED[page]:
            tab.locator(selector, has_text=text).first.wait_for(state="visible", timeout=20_000)
        tab.wait_for_load_state("networkidle", timeout=10_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{page}.png"))
    finally:
        context.close()
    assert blocked == [], f"requests tried to leave the machine: {blocked}"
    escaped = [u for u in seen if not u.startswith((base_url + "/", "data:", "blob:"))]
    assert escaped == [], escaped
    assert f"{base_url}/openapi.json" in seen
    assert errors == [], errors
