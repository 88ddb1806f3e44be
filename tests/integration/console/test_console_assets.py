"""Static assets: fingerprinted URLs in every page, kept by browsers for a year."""

import hashlib
import re
from pathlib import Path

import pytest

from app.console.assets import AssetUrls

STATIC = Path(__file__).resolve().parents[3] / "static"
ASSET = re.compile(r'(?:href|src)="(/static/([^"?]+)\?v=([0-9a-f]{12}))"')


async def test_pages_name_their_assets_by_content_and_browsers_may_keep_them(browser):
    page = await browser.get("/login")
    assets = ASSET.findall(page.text)
    names = {name for _, name, _ in assets}
    assert {"css/app.css", "js/app.js", "vendor/htmx/htmx.min.js", "img/logo.svg"} <= names
    assert "/static/" not in ASSET.sub("", page.text)  # no asset left without its fingerprint
    for url, name, fingerprint in assets:
        assert fingerprint == hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
        answer = await browser.get(url)
        assert answer.status_code == 200, url
        cache = answer.headers["cache-control"]
        assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache


def test_an_asset_outside_the_static_folder_or_missing_is_refused():
    asset = AssetUrls(STATIC)
    with pytest.raises(FileNotFoundError):
        asset("../app/settings.py")
    with pytest.raises(FileNotFoundError):
        asset("css/no-such.css")
