"""The API documentation pages ``/docs`` (Swagger UI) and ``/redoc``, served with no CDN.

FastAPI's own pages load Swagger UI and Redoc from jsDelivr (and Redoc's fonts from Google),
so on an offline intranet they stay blank. These routes give the same pages with the
libraries vendored from npm into ``/static/vendor`` by ``python -m webmap.vendor`` (files
listed in :data:`safemap.webmap.assets.VENDOR_FILES`) and our own favicon.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
SWAGGER_JS = "/static/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "/static/vendor/swagger-ui/swagger-ui.css"
REDOC_JS = "/static/vendor/redoc/redoc.standalone.js"
FAVICON = "/static/favicon.svg"


def _root(request: Request) -> str:
    """The path the app is mounted under (``root_path`` behind a proxy), without a trailing slash."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the app's OpenAPI document, from vendored files only."""
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=root + str(request.app.openapi_url),
        title=f"{request.app.title} — Swagger UI",
        swagger_js_url=root + SWAGGER_JS,
        swagger_css_url=root + SWAGGER_CSS,
        swagger_favicon_url=root + FAVICON,
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        # No badge from validator.swagger.io (it would send the document's URL off-site).
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page (inline script, nothing fetched)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL)
async def redoc(request: Request) -> HTMLResponse:
    """Redoc on the app's OpenAPI document, from the vendored standalone bundle (no web fonts)."""
    root = _root(request)
    return get_redoc_html(
        openapi_url=root + str(request.app.openapi_url),
        title=f"{request.app.title} — ReDoc",
        redoc_js_url=root + REDOC_JS,
        redoc_favicon_url=root + FAVICON,
        with_google_fonts=False,
    )
