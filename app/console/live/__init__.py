"""Live updates: the core's webhooks in, server-sent events out, Redis between processes."""
