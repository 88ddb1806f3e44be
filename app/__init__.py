"""Branchdesk: core banking API, shared client and staff console."""
