"""The approvals queue: pending teller transactions (journals and standing instructions
join it as their own sections)."""
