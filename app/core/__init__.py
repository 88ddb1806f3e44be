"""The CBA JSON API mounted at /api/v1/cba."""
