"""``/docs`` (Swagger UI) and ``/redoc`` with their scripts served by the service itself:
fraudwatch runs in closed networks, where pages loading from a CDN stay blank. The assets
come from the pinned ``fastapi-offline`` package."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

from fraudwatch.errors import NotFound

router = APIRouter(include_in_schema=False)
ASSETS = "/docs/assets"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _asset_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


@router.get("/docs")
async def swagger(request: Request) -> Response:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS + "/{name}")
async def asset(name: str) -> Response:
    path = _asset_dir() / name
    if name not in {p.name for p in _asset_dir().iterdir()}:  # only the package's own files
        raise NotFound(f"no asset {name!r}")
    return Response(
        path.read_bytes(),
        media_type=_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "public, max-age=86400"},
    )
