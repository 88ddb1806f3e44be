"""Teller pages: deposit, withdrawal, receipt, my day (and the money-form machinery they
share with transfers)."""
