"""Static asset URLs that carry a fingerprint of their content (``/static/css/app.css?v=…``).

Browsers may then keep every asset for a year without asking again (``immutable``): a new
release changes the file, so its fingerprint and its URL, and the page asks for the new
one. Pages load on a teller's second visit with no request for CSS or scripts at all.
"""

import hashlib
from functools import lru_cache
from pathlib import Path

from litestar.datastructures import CacheControlHeader

STATIC_URL = "/static"

# A year: the longest lifetime caches honour; the fingerprint, not the clock, retires a file.
ASSET_CACHE = CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True)


class AssetUrls:
    """``asset("css/app.css")`` → ``/static/css/app.css?v=<12 hex digits of its SHA-256>``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()

    def __call__(self, path: str) -> str:
        return f"{STATIC_URL}/{path}?v={self._fingerprint(path)}"

    @lru_cache(maxsize=256)  # noqa: B019  (one instance per app; files change only on release)
    def _fingerprint(self, path: str) -> str:
        file = (self.directory / path).resolve()
        if not file.is_relative_to(self.directory) or not file.is_file():
            raise FileNotFoundError(f"no static asset {path!r}")
        return hashlib.sha256(file.read_bytes()).hexdigest()[:12]
