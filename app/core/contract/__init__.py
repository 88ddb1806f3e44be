"""The core's typed contract (issue 12): the shared shapes of every answer (error body,
list envelope) and what the OpenAPI document says each operation can return."""
