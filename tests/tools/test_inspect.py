from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / ".." / "shared" / "testdata" / "tf_serving"
SAVED_MODEL_CLI = Path(sys.executable).parent / "saved_model_cli"
OPS_PREFIX = "The MetaGraph with tag set"


def _run(*args: str) -> str:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _sigserve(*args: str) -> str:
    return _run(sys.executable, "-m", "sigserve", "inspect", *args)


def _split_ops(lines: list[str]) -> tuple[list[str], set[str]]:
    """The lines before the ops line, and the ops (a set, printed in any order)."""
    (index,) = [i for i, line in enumerate(lines) if line.startswith(OPS_PREFIX)]
    ops = ast.literal_eval(lines[index].split("ops: ", 1)[1])
    return lines[:index], ops


def _compare(model_dir: Path) -> None:
    expected, expected_ops = _split_ops(_run(str(SAVED_MODEL_CLI), "show", "--dir",
                                             str(model_dir), "--all").splitlines())  # fmt: skip
    ours, our_ops = _split_ops(_sigserve(str(model_dir)).splitlines())
    assert ours == expected
    assert our_ops == expected_ops


@pytest.mark.parametrize("model", ["saved_model_half_plus_two_cpu", "saved_model_counter"])
def test_matches_saved_model_cli_on_tf_serving_models(model: str) -> None:
    _compare(TESTDATA / model / "00000123")


@pytest.mark.parametrize("name", ["tuple_names", "healthy_counter"])
def test_matches_saved_model_cli_on_tf2_models(tool_models: dict[str, Path], name: str) -> None:
    _compare(tool_models[name] / "1")


def test_base_path_and_one_signature() -> None:
    expected = _run(str(SAVED_MODEL_CLI), "show", "--dir",
                    str(TESTDATA / "saved_model_half_plus_two_cpu" / "00000123"), "--tag_set",
                    "serve", "--signature_def", "regress_x_to_y").splitlines()  # fmt: skip
    ours = _sigserve(str(TESTDATA / "saved_model_half_plus_two_cpu"), "--tag_set", "serve",
                     "--signature_def", "regress_x_to_y").splitlines()  # fmt: skip
    assert ours[: len(expected)] == expected
    assert ":regress" in "\n".join(ours[len(expected) :])


def test_example_bodies_are_valid_requests(tool_models: dict[str, Path]) -> None:
    data = json.loads(_sigserve(str(tool_models["healthy_dense"]), "--json"))
    (graph,) = data["meta_graphs"]
    assert graph["tags"] == ["serve"]
    signature = graph["signatures"]["serving_default"]
    assert signature["inputs"]["x"] == {"dtype": "DT_FLOAT", "shape": [-1, 3],
                                        "name": "serving_default_x:0"}  # fmt: skip
    examples = signature["examples"]
    assert examples["row"] == {"signature_name": "serving_default",
                               "instances": [{"x": [0.5, 0.5, 0.5]}]}  # fmt: skip
    assert examples["columnar"]["inputs"] == {"x": [[0.5, 0.5, 0.5]]}


def test_unknown_signature_is_a_clear_error() -> None:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-m", "sigserve", "inspect",
         str(TESTDATA / "saved_model_half_plus_two_cpu"), "--signature_def", "nope"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert 'Could not find signature "nope"' in result.stderr


def test_curl_lines_skip_internal_signatures_and_name_the_version() -> None:
    base = TESTDATA / "saved_model_half_plus_two_cpu"
    data = json.loads(_sigserve(str(base), "--json", "--url", "http://example:9000"))
    assert data["version"] == 123 and data["model_name"] == "saved_model_half_plus_two_cpu"
    (graph,) = data["meta_graphs"]
    curls = {k: s["curl"] for k, s in graph["signatures"].items()}
    url = "http://example:9000/v1/models/saved_model_half_plus_two_cpu"
    body = """'{"instances": [{"x": [0.5]}]}'"""
    assert curls["serving_default"] == f"curl -d {body} {url}:predict"
    assert curls["regress_x_to_y"].endswith(f"{url}:regress")
    assert '"signature_name": "regress_x_to_y"' in curls["regress_x_to_y"]

    text = _sigserve(str(base / "00000123"), "--model_name", "hp2")
    assert "Read version 123 of model 'hp2'" in text
    assert "http://localhost:8501/v1/models/hp2/versions/123:predict" in text


def test_no_example_for_the_init_op(tool_models: dict[str, Path]) -> None:
    text = _sigserve(str(tool_models["healthy_dense"]))
    (listing, examples) = text.split("Example requests", 1)
    assert "signature_def['__saved_model_init_op']" in listing  # as saved_model_cli shows it
    assert "__saved_model_init_op" not in examples
    data = json.loads(_sigserve(str(tool_models["healthy_dense"]), "--json"))
    init = data["meta_graphs"][0]["signatures"]["__saved_model_init_op"]
    assert init["examples"] is None and init["curl"] is None
