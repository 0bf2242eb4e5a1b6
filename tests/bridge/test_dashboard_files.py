"""The dashboard's files as a browser gets them from a real bridge process: hashed assets
compressed and cached for good, index.html revalidated on every load (item 6 of "Trends")."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
import requests

from devtools.local_broker import REPO

WEB_DIST = REPO / "web" / "dist"


@pytest.fixture
def built() -> Path:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make setup` or `cd web && npm run build`")
    return WEB_DIST


def test_hashed_assets_are_gzipped_and_immutable_index_is_revalidated(bridges, built: Path):
    bridge = bridges(FACTORY_WEB_DIST=str(built))
    index = bridge.get("/")
    assert index.status_code == 200
    assert index.headers["Cache-Control"] == "no-cache"
    script = re.search(r'src="\./(assets/index-[\w-]+\.js)"', index.text)
    assert script is not None, "index.html names its hashed script"
    plain = (built / script[1]).read_bytes()

    # urllib3 decodes gzip for us: ask without decoding to see what travelled.
    url = f"{bridge.url}/{script[1]}"
    packed = requests.get(url, headers={"Accept-Encoding": "gzip, br"}, stream=True, timeout=10)
    raw = packed.raw.read(decode_content=False)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(raw) == plain
    assert len(raw) < len(plain) / 2

    # A client that takes no gzip gets the file as it is.
    identity = bridge.get(f"/{script[1]}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in identity.headers
    assert identity.content == plain

    favicon = bridge.get("/favicon.svg")
    assert favicon.status_code == 200
    assert favicon.headers["Content-Type"].startswith("image/svg+xml")
    assert 'rel="icon"' in index.text
