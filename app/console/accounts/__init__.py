"""Accounts: list, detail, statement, open, freeze/unfreeze/close, holds."""
