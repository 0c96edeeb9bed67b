"""The web console: `/` serves `api/static/index.html` when it exists (the console is
built separately), else a small page pointing at the API; `/static` serves the folder."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import SettingsDep

router = APIRouter(include_in_schema=False)

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>statemachine</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .25rem}</style></head>
<body><h1>statemachine</h1>
<p>The server is running. The web console is not installed in this build.</p>
<ul><li><a href="/docs">API documentation</a> (<a href="/openapi.json">OpenAPI</a>)</li>
<li><a href="/healthz">/healthz</a> and <a href="/readyz">/readyz</a></li></ul>
<p>Start an execution: <code>statemachine start NAME --input '{}' --wait</code></p>
</body></html>
"""


@router.get("/")
def index(settings: SettingsDep) -> Response:
    page = settings.static_dir / "index.html"
    if page.is_file():
        return FileResponse(page, media_type="text/html")
    return HTMLResponse(PLACEHOLDER)
