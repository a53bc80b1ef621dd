from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigserve.tools.check import check
from sigserve.tools.findings import Level

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / ".." / "shared" / "testdata" / "tf_serving"

EXPECTED = {
    "frozen_branch": {"CONSTANT_OUTPUT"},
    "unused_input": {"UNUSED_INPUT"},
    "no_serving_default": {"NO_SERVING_DEFAULT"},
    "fixed_batch": {"FIXED_BATCH_DIM"},
    "not_batch_major": {"OUTPUT_NOT_BATCH_MAJOR"},
    "tuple_names": {"TUPLE_INPUT_NAMES"},
    "image_bytes": {"BINARY_STRING_INPUT"},
    "method_mismatch": {"METHOD_MISMATCH"},
    "healthy_cond": set(),
    "healthy_counter": set(),
    "healthy_dense": set(),
    "healthy_text": set(),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_flags_exactly_the_trap(tool_models: dict[str, Path], name: str) -> None:
    report = check(str(tool_models[name]))
    assert {f.code for f in report.findings} == EXPECTED[name], report.text_lines()


@pytest.mark.parametrize(
    "model",
    ["saved_model_half_plus_two_cpu", "saved_model_half_plus_two_tf2_cpu",
     "saved_model_half_plus_three", "saved_model_counter", "saved_model_half_plus_two_2_versions"],
)  # fmt: skip
def test_tf_serving_models_are_clean(model: str) -> None:
    assert check(str(TESTDATA / model)).findings == []


def test_findings_name_signature_tensor_and_fix(tool_models: dict[str, Path]) -> None:
    (finding,) = check(str(tool_models["frozen_branch"])).findings
    assert finding.level == Level.ERROR
    assert finding.signature == "serving_default"
    assert finding.tensor == "outputs['output_0']"
    assert "tf.cond" in finding.fix
    assert "same answer" in finding.message


def test_unused_input_names_the_input(tool_models: dict[str, Path]) -> None:
    (finding,) = check(str(tool_models["unused_input"])).findings
    assert finding.tensor == "inputs['scale']"


def test_graph_analysis_alone_finds_the_frozen_branch(tool_models: dict[str, Path]) -> None:
    report = check(str(tool_models["frozen_branch"]), run_probes=False)
    assert [f.code for f in report.findings] == ["CONSTANT_OUTPUT"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "sigserve", *args], capture_output=True, text=True, cwd=REPO,
        env=env, timeout=300,
    )  # fmt: skip


def test_cli_exit_status_and_json(tool_models: dict[str, Path]) -> None:
    bad = _cli("check", str(tool_models["frozen_branch"]), "--json")
    assert bad.returncode == 1, bad.stderr
    data = json.loads(bad.stdout)
    assert [(f["code"], f["level"]) for f in data["findings"]] == [("CONSTANT_OUTPUT", "error")]
    assert data["counts"]["error"] == 1

    warn = _cli("check", str(tool_models["tuple_names"]))
    assert warn.returncode == 0, warn.stderr
    assert "warning TUPLE_INPUT_NAMES" in warn.stdout
    assert _cli("check", str(tool_models["tuple_names"]), "--fail_on", "warning").returncode == 1

    good = _cli("check", str(tool_models["healthy_counter"]))
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().endswith("no findings")


def test_cli_reports_a_missing_model(tmp_path: Path) -> None:
    result = _cli("check", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "No such directory" in result.stderr
    assert "Traceback" not in result.stderr
