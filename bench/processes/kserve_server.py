"""KServe's Python model server around a SavedModel (a benchmark baseline).

    bench/.venv-peers/bin/python bench/processes/kserve_server.py --model_name=NAME \
        --export_dir=EXPORT_DIR --http_port=PORT --enable_grpc=false

A ``kserve.Model`` subclass as KServe's docs write one, served by ``kserve.ModelServer`` on its
V1 protocol: ``POST /v1/models/NAME:predict`` with ``{"instances": ...}`` answers
``{"predictions": ...}``. Per-request log lines (latency log, access log, the timing
middleware's trace lines) are off, as they are in sigserve and the FastAPI wrapper.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import kserve
import tf_model
from kserve import model_server


class SavedModel(kserve.Model):
    def __init__(self, name: str, export_dir: str) -> None:
        super().__init__(name)
        self.export_dir = export_dir
        self.signature: tf_model.ServingSignature | None = None
        self.load()

    def load(self) -> bool:
        self.signature = tf_model.ServingSignature(self.export_dir)
        self.ready = True
        return self.ready

    def predict(
        self,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        assert self.signature is not None
        return {"predictions": self.signature.predict(payload["instances"])}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--export_dir", required=True)
    args, _ = parser.parse_known_args()
    model = SavedModel(args.model_name, args.export_dir)
    server = kserve.ModelServer(enable_latency_logging=False)
    for per_request in ("uvicorn.access", "kserve.trace"):  # access log, timing middleware
        logging.getLogger(per_request).setLevel(logging.WARNING)
    server.start([model])
