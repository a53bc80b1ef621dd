"""The FastAPI + uvicorn wrapper a user writes around a SavedModel (a benchmark baseline).

    bench/.venv-peers/bin/python bench/processes/fastapi_server.py NAME EXPORT_DIR PORT

Serves ``POST /v1/models/NAME:predict`` with TF Serving's ``{"instances": ...}`` body and
answers ``{"predictions": ...}``, on 127.0.0.1 with one uvicorn worker and no access log.
"""

from __future__ import annotations

import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tf_model
import uvicorn
from fastapi import Body, FastAPI


def make_app(name: str, export_dir: str) -> FastAPI:
    signature = tf_model.ServingSignature(export_dir)
    app = FastAPI()

    @app.post(f"/v1/models/{name}:predict")
    def predict(payload: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        return {"predictions": signature.predict(payload["instances"])}

    return app


if __name__ == "__main__":
    name, export_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    uvicorn.run(
        make_app(name, export_dir),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
