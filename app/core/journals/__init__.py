"""Manual journals: draft, approve, reject, post and reverse (maker-checker)."""
