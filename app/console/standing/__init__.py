"""Standing instructions: list, create, approve, cancel, executions, the daily job."""
