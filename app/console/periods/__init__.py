"""Fiscal periods: the year's periods, create a year, the pre-close checklist, close, snapshots."""
