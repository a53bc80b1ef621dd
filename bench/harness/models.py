"""The benchmark models: built (random weights) by a child process, described by its manifest."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

MODEL_NAMES = ("mlp", "mobilenet", "strings", "half_plus_two")


@dataclass(frozen=True)
class BenchModel:
    name: str
    base_path: Path  # what --model_base_path gets: numeric version directories
    export_dir: Path  # the version the peers and the in-process run load
    body: Path  # one TF Serving JSON request
    body_bytes: int
    description: str


def build_models(
    python: Path, repo: Path, work: Path, half_plus_two: Path
) -> dict[str, BenchModel]:
    """Build what is missing under ``work`` and return every model of the manifest."""
    script = repo / "bench" / "processes" / "build_models.py"
    log = work / "logs" / "build_models.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(
            [str(python), str(script), str(work), str(half_plus_two)],
            cwd=repo,
            stdout=out,
            stderr=out,
            check=False,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError("building the models failed:\n" + "\n".join(tail))
    manifest = json.loads((work / "manifest.json").read_text())
    return {
        name: BenchModel(
            name=name,
            base_path=Path(entry["base_path"]),
            export_dir=Path(entry["export_dir"]),
            body=Path(entry["body"]),
            body_bytes=entry["body_bytes"],
            description=entry["description"],
        )
        for name, entry in manifest.items()
    }
