"""The HTTP server (FastAPI on uvicorn) over the storage API: ``server.app.create_app``."""
