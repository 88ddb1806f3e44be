"""Composite reads: what one console page shows, in one call (``GET /views/...``)."""
