import dataclasses
from pathlib import Path

import pytest

from sigserve.cli.flags import NOT_IMPLEMENTED, SUPPORTED, markdown, parse_serve_flags
from sigserve.cli.main import main
from sigserve.config import ServerConfig

DOCS = Path(__file__).resolve().parents[2] / "docs" / "flags.md"


def test_both_flag_spellings_and_booleans() -> None:
    config = parse_serve_flags(
        [
            "--model_name=m",
            "--model_base_path",
            "/models/m",
            "--rest_api_port=0",
            "--enable_model_warmup=false",
            "--enable_grpc_healthcheck_service",
            "--saved_model_tags=serve,gpu",
        ]
    )
    assert config.model_name == "m"
    assert config.model_base_path == "/models/m"
    assert config.rest_api_port == 0
    assert config.enable_model_warmup is False
    assert config.enable_grpc_healthcheck_service is True
    assert config.tags == {"serve", "gpu"}


def test_defaults_match_tf_serving_docker_image() -> None:
    config = parse_serve_flags(["--model_base_path=/m"])
    assert (config.port, config.rest_api_port) == (8500, 8501)
    assert config.model_name == "default"
    assert config.file_system_poll_wait_seconds == 1
    assert config.tags == {"serve"}


def test_unknown_flag_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["serve", "--model_base_path=/m", "--no_such_flag=1"])
    assert e.value.code == 2
    assert "--no_such_flag" in capsys.readouterr().err


def test_unimplemented_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_serve_flags(["--model_base_path=/m", "--use_alts_credentials=true"])
    assert "does not implement yet" in capsys.readouterr().err


def test_unimplemented_flag_at_tf_serving_default_is_accepted() -> None:
    parse_serve_flags(["--model_base_path=/m", "--use_alts_credentials=false"])


def test_bad_boolean_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_serve_flags(["--model_base_path=/m", "--enable_model_warmup=maybe"])
    assert "expected true or false" in capsys.readouterr().err


def test_a_model_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_serve_flags([])
    assert "--model_base_path" in capsys.readouterr().err


def test_every_flag_is_documented() -> None:
    text = DOCS.read_text()
    assert text == markdown(), "regenerate: python -m sigserve.cli.flags > docs/flags.md"
    names = [f.name for f in dataclasses.fields(ServerConfig)] + list(NOT_IMPLEMENTED)
    assert set(SUPPORTED) == {f.name for f in dataclasses.fields(ServerConfig)}
    for name in names:
        assert f"`--{name}`" in text, name


def test_bad_grpc_channel_arguments_fail_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_serve_flags(["--model_base_path=/m", "--grpc_channel_arguments=novalue"])
    assert "grpc_channel_arguments" in capsys.readouterr().err
