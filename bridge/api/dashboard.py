"""The built dashboard (web/dist) over HTTP, cached the way its files allow.

Vite names every file under ``assets/`` after a hash of its content, so a browser may keep it
for a year and never ask again (``immutable``); the build puts a gzip copy next to each
(web/scripts/precompress.mjs), served to browsers that accept it, so nothing is compressed on
the event loop. ``index.html`` names the current assets: it is revalidated on every load
(``no-cache``), so a new build reaches every browser on its next visit.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Flask, Response, request, send_from_directory
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Not hashed (the favicon, anything else at the top): an hour, then ask again.
SHORT = "public, max-age=3600"
HASHED_DIR = "assets/"


def serve_dashboard(app: Flask, dist: Path) -> None:
    dist = dist.resolve()

    @app.get("/")
    def index() -> Response:
        if not (dist / "index.html").is_file():
            text = (
                f"The dashboard is not built (no {dist}/index.html): run `make` in the "
                "checkout, or set FACTORY_WEB_DIST to a web build.\n"
            )
            return Response(text, status=503, content_type="text/plain; charset=utf-8")
        answer = send_from_directory(dist, "index.html")
        answer.headers["Cache-Control"] = REVALIDATE
        return answer

    @app.get("/<path:path>")
    def asset(path: str) -> Response:
        if not path.startswith(HASHED_DIR):
            answer = send_from_directory(dist, path)
            answer.headers["Cache-Control"] = REVALIDATE if path == "index.html" else SHORT
            return answer
        gzipped = safe_join(str(dist), f"{path}.gz")
        use_gzip = (
            request.accept_encodings["gzip"] > 0 and gzipped is not None and Path(gzipped).is_file()
        )
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        answer = send_from_directory(dist, f"{path}.gz" if use_gzip else path, mimetype=mimetype)
        if use_gzip:
            answer.headers["Content-Encoding"] = "gzip"
        answer.headers["Vary"] = "Accept-Encoding"
        answer.headers["Cache-Control"] = IMMUTABLE
        return answer
