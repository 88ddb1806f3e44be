"""Customers: search, detail, create."""
