"""Journals: the composer, the list, a journal's page with its timeline and actions."""
