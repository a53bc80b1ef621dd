"""Builds the benchmark models (random weights) and their TF Serving JSON request bodies.

    .venv/bin/python bench/processes/build_models.py WORK_DIR HALF_PLUS_TWO_BASE_PATH

Writes ``WORK_DIR/models/<name>/1`` (a base path with one numeric version, as TF Serving
wants), ``WORK_DIR/bodies/<name>.json`` and ``WORK_DIR/manifest.json``. Models already built
with the same recipe (``RECIPE``) are kept.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

RECIPE = 1  # bump when a model or a body changes


def build_mlp(export_dir: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(32,), name="x"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.export(str(export_dir), verbose=False)


def build_mobilenet(export_dir: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    model.export(str(export_dir), verbose=False)


def build_strings(export_dir: Path) -> None:
    import tensorflow as tf

    class Strings(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
            return {
                "length": tf.strings.length(text, unit="UTF8_CHAR"),
                "bucket": tf.strings.to_hash_bucket_fast(text, 1000),
            }

    module = Strings()
    tf.saved_model.save(module, str(export_dir), signatures={"serving_default": module.serve})


def bodies(rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """One request per model, as a user sends it: one row (one image for MobileNetV2)."""
    words = ["serving", "tensor", "batch", "latency", "throughput", "model", "signature"]
    return {
        "mlp": {"instances": np.round(rng.standard_normal((1, 32)), 4).tolist()},
        "mobilenet": {"instances": np.round(rng.random((1, 224, 224, 3)), 3).tolist()},
        "strings": {"instances": [" ".join(rng.choice(words, 6))]},
        "half_plus_two": {"instances": [1.0, 2.0, 5.0]},
    }


BUILDERS = {"mlp": build_mlp, "mobilenet": build_mobilenet, "strings": build_strings}
DESCRIPTIONS = {
    "mlp": "Keras MLP 32-256-256-10, 1 row",
    "mobilenet": "MobileNetV2 (Keras, random weights), one 224x224x3 image as JSON",
    "strings": "tf.string input -> length and hash bucket, 1 string",
    "half_plus_two": "TF Serving's half_plus_two (TF1), 3 values",
}


def main(work: Path, half_plus_two: Path) -> None:
    manifest_path = work / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    (work / "bodies").mkdir(parents=True, exist_ok=True)
    for name, body in bodies(rng).items():
        if name == "half_plus_two":
            base = half_plus_two
        else:
            base = work / "models" / name
            export_dir = base / "1"
            if old.get(name, {}).get("recipe") != RECIPE or not export_dir.is_dir():
                print(f"building {name} ...", file=sys.stderr, flush=True)
                if export_dir.exists():
                    import shutil

                    shutil.rmtree(export_dir)
                export_dir.parent.mkdir(parents=True, exist_ok=True)
                BUILDERS[name](export_dir)
        versions = sorted(
            (p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
        )
        body_path = work / "bodies" / f"{name}.json"
        body_path.write_text(json.dumps(body, separators=(",", ":")))
        manifest[name] = {
            "recipe": RECIPE,
            "base_path": str(base),
            "export_dir": str(versions[-1]),
            "body": str(body_path),
            "body_bytes": body_path.stat().st_size,
            "description": DESCRIPTIONS[name],
        }
    manifest_path.write_text(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
