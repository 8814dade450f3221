"""ASGI middleware: request context (ids, access log, metrics), body limit, idempotent
POSTs, and the answer cache of lists and summaries."""
