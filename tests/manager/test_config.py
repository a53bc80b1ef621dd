from __future__ import annotations

from pathlib import Path

import pytest

from sigserve.errors import Code, ServingError
from sigserve.manager.config import (
    load_model_config_file,
    parse_model_config,
    single_model_config,
    validate_model_config,
)

TESTDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "tf_serving"


def test_single_model_config() -> None:
    config = single_model_config("m", "/models/m")
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("m", "/models/m", "tensorflow")
    validate_model_config(config)


def test_good_config_file_from_tf_serving(tmp_path: Path) -> None:
    text = (TESTDATA / "good_model_config.txt").read_text()
    text = text.replace("${TEST_HALF_PLUS_TWO_DIR}", "/a").replace(
        "${TEST_HALF_PLUS_THREE_DIR}", "/b"
    )
    path = tmp_path / "models.config"
    path.write_text(text)
    config = load_model_config_file(str(path))
    assert [(m.name, m.base_path) for m in config.model_config_list.config] == [
        ("half_plus_two", "/a"),
        ("half_plus_three", "/b"),
    ]
    validate_model_config(config)


def test_bad_config_file_from_tf_serving() -> None:
    path = str(TESTDATA / "bad_model_config.txt")
    with pytest.raises(ServingError) as info:
        load_model_config_file(path)
    assert info.value.code == Code.INVALID_ARGUMENT
    assert "Error parsing text-format tensorflow.serving.ModelServerConfig" in info.value.message
    assert path in info.value.message
    assert "improperly" in info.value.message  # the parser's own complaint


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ServingError, match="Could not read model config file"):
        load_model_config_file(str(tmp_path / "nope.config"))


def test_policy_and_labels_parse() -> None:
    config = parse_model_config(
        """model_config_list { config {
             name: "m" base_path: "/m" model_platform: "tensorflow"
             model_version_policy { specific { versions: 1 versions: 2 } }
             version_labels { key: "stable" value: 1 }
             version_labels { key: "canary" value: 2 } } }"""
    )
    (model,) = config.model_config_list.config
    assert list(model.model_version_policy.specific.versions) == [1, 2]
    assert dict(model.version_labels) == {"stable": 1, "canary": 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('config { name: "m" base_path: "/m" model_platform: "tensorflow" } '
         'config { name: "m" base_path: "/n" model_platform: "tensorflow" }',
         "Illegal to list model m multiple times in config list"),
        ('config { name: "m" base_path: "rel/m" model_platform: "tensorflow" }',
         "Expected model m to have an absolute path or URI; got base_path()=rel/m"),
        ('config { name: "m" base_path: "/m" }',
         "Illegal setting neither ModelServerConfig::model_type (deprecated) nor"),
        ('config { name: "m" base_path: "/m" model_platform: "pytorch" }',
         "Model m requests unsupported platform pytorch"),
    ],
)
def test_invalid_configs(text: str, message: str) -> None:
    config = parse_model_config(f"model_config_list {{ {text} }}")
    with pytest.raises(ServingError) as info:
        validate_model_config(config)
    assert info.value.code == Code.INVALID_ARGUMENT
    assert message in info.value.message
