import pytest

from sigserve.errors import Code, ServingError
from sigserve.rest.paths import API_PREFIX, parse
from sigserve.types import ModelRef


@pytest.mark.parametrize(
    ("method", "path", "ref", "action"),
    [
        ("POST", "/v1/models/m:predict", ModelRef("m"), "predict"),
        ("POST", "/v1/models/m/versions/12:classify", ModelRef("m", 12), "classify"),
        ("POST", "/v1/models/m/labels/stable:regress", ModelRef("m", label="stable"), "regress"),
        ("GET", "/v1/models/m", ModelRef("m"), "status"),
        ("GET", "/v1/models/m/versions/3", ModelRef("m", 3), "status"),
        ("GET", "/v1/models/m/labels/canary/metadata", ModelRef("m", label="canary"), "metadata"),
        ("GET", "/v1/models/m%20x/metadata", ModelRef("m x"), "metadata"),
        ("GET", "/V1/MODELS/m", ModelRef("m"), "status"),
    ],
)
def test_parses_tf_serving_paths(method: str, path: str, ref: ModelRef, action: str) -> None:
    route = parse(method, path)
    assert route.action == action
    assert route.ref() == ref


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models/m:predict"),
        ("POST", "/v1/models/m"),
        ("POST", "/v1/models/m/versions/x:predict"),
        ("POST", "/v1/models/m:explain"),
        ("DELETE", "/v1/models/m"),
        ("GET", "/v1/models/m/foo"),
    ],
)
def test_unparsable_paths_have_no_action(method: str, path: str) -> None:
    assert parse(method, path).action == ""


def test_status_without_model_name_parses_with_empty_name() -> None:
    route = parse("GET", "/v1/models")
    assert route.action == "status"
    assert route.model_name == ""


def test_version_too_large_is_invalid_argument() -> None:
    with pytest.raises(ServingError) as e:
        parse("POST", f"/v1/models/m/versions/{2**64}:predict")
    assert e.value.code == Code.INVALID_ARGUMENT
    assert "to numeric" in e.value.message


def test_api_prefix_is_case_insensitive_and_limited_to_v1() -> None:
    assert API_PREFIX.fullmatch("/V1/anything")
    assert not API_PREFIX.fullmatch("/v2/models/m")
