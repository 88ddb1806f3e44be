"""The Audit page: the core's audit trail and the console's action log, joined by request ID."""
