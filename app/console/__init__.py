"""The staff console: Litestar + Jinja + htmx, talking to the core only through app.client."""
