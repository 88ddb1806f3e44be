"""Transfers: internal (one branch, officer) and inter-branch (manager)."""
