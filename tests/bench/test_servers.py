"""How the servers under test are launched, and when a refusal makes a row unavailable."""

from __future__ import annotations

from pathlib import Path

from bench.harness.models import BenchModel
from bench.harness.servers import SERVERS, Paths, predict_url, refused_flag


def test_a_refused_flag_is_recognised() -> None:
    sigserve = (
        "sigserve serve: error: --enable_batching is a TensorFlow Serving flag that sigserve "
        "does not implement yet; see docs/flags.md"
    )
    assert refused_flag(sigserve)
    assert refused_flag("sigserve: error: unrecognized arguments: --enable_batching=true")
    assert not refused_flag("ValueError: Could not find SavedModel .pb or .pbtxt at /m/1")
    assert not refused_flag("")


def test_commands(tmp_path: Path) -> None:
    paths = Paths(tmp_path, tmp_path, tmp_path / "venv/bin/python", tmp_path / "peers/bin/python")
    model = BenchModel("mlp", tmp_path / "mlp", tmp_path / "mlp/1", tmp_path / "b.json", 9, "")
    commands = {server.name: server.command(paths, model, 4321) for server in SERVERS}
    assert commands["sigserve"][:2] == [str(tmp_path / "venv/bin/sigserve"), "serve"]
    assert "--rest_api_port=4321" in commands["sigserve"]
    assert "--rest_api_host=127.0.0.1" in commands["sigserve"]
    batching = commands["sigserve-batching"]
    assert "--enable_batching=true" in batching
    (parameters,) = [a for a in batching if a.startswith("--batching_parameters_file=")]
    text = Path(parameters.split("=", 1)[1]).read_text()
    assert "max_batch_size { value: 64 }" in text
    assert "batch_timeout_micros { value: 2000 }" in text
    assert commands["fastapi"][0] == commands["kserve"][0] == str(tmp_path / "peers/bin/python")
    assert predict_url(4321, model) == "http://127.0.0.1:4321/v1/models/mlp:predict"
