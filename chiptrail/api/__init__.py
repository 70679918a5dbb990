"""The HTTP API (FastAPI, versioned under /v1) and the web dashboard served by the same process."""
