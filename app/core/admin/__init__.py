"""Staff users and API keys, administered by the tenant's admins."""
