"""The REST API (FastAPI, versioned under /api/v1): one router module per resource."""
