"""Swagger UI and ReDoc served from bundled files, so ``/docs`` renders with no network.

FastAPI's default pages load their JavaScript from a CDN and render blank
offline. Swagger UI's files come from the ``swagger-ui-bundle-v2`` package;
ReDoc's standalone bundle (MIT, redoc 2.5.1 from npm) ships in ``static/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


def swagger_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def add_offline_docs(app: FastAPI) -> None:
    """Mount the assets and add ``/docs`` and ``/redoc`` pages that use them."""
    app.mount("/static/swagger", StaticFiles(directory=swagger_dir()), name="swagger-assets")
    app.mount("/static/redoc", StaticFiles(directory=STATIC), name="redoc-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — Swagger UI",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — ReDoc",
            redoc_js_url="/static/redoc/redoc.standalone.js",
            redoc_favicon_url="/static/swagger/favicon-32x32.png",
            with_google_fonts=False,
        )
        # ReDoc's footer logo points at its CDN; images may come from this server only
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page
