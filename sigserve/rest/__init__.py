"""TF Serving's REST API over ASGI."""
