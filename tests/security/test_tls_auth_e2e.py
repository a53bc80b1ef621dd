"""TLS and bearer tokens on a real server: gRPC over TLS (with and without client
certificates, TF Serving's SSLConfig), REST over HTTPS, and the token checked on both
transports; probes and the health service stay open."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from certs import Certificates, ssl_config_text
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

pytestmark = pytest.mark.slow

TOKEN = "s3cret-token-for-tests-0123456789"
OTHER_TOKEN = "second-token-being-rotated-in-42"
BODY = {"instances": [1.0, 2.0, 5.0]}
PREDICT = "/v1/models/half_plus_two:predict"


def _files(folder: Path, certs: Certificates, *, client_verify: bool) -> tuple[Path, Path]:
    ssl_config = folder / f"ssl-{client_verify}.config"
    ssl_config.write_text(ssl_config_text(certs, client_verify=client_verify))
    tokens = folder / "tokens"
    tokens.write_text(f"# tokens\n{TOKEN}\n\n{OTHER_TOKEN}\n")
    tokens.chmod(0o600)
    return ssl_config, tokens


@pytest.fixture(scope="module")
def server(start_server: Callable[..., Any], testdata: Path, certificates: Certificates,
           tmp_path_factory: pytest.TempPathFactory) -> Any:  # fmt: skip
    """TLS without client certificates, tokens required, CORS on."""
    ssl_config, tokens = _files(tmp_path_factory.mktemp("tls"), certificates, client_verify=False)
    return start_server(
        "--model_name=half_plus_two",
        f"--model_base_path={testdata}/saved_model_half_plus_two_cpu",
        "--rest_api_host=127.0.0.1", "--grpc_host=127.0.0.1",
        f"--ssl_config_file={ssl_config}",
        f"--rest_api_ssl_cert_file={certificates.server.cert}",
        f"--rest_api_ssl_key_file={certificates.server.key}",
        f"--auth_token_file={tokens}",
        "--enable_grpc_healthcheck_service", "--rest_api_enable_cors_support",
    )  # fmt: skip


@pytest.fixture(scope="module")
def mutual(start_server: Callable[..., Any], testdata: Path, certificates: Certificates,
           tmp_path_factory: pytest.TempPathFactory) -> Any:  # fmt: skip
    """Client certificates required on both transports (no token)."""
    ssl_config, _ = _files(tmp_path_factory.mktemp("mtls"), certificates, client_verify=True)
    return start_server(
        "--model_name=half_plus_two",
        f"--model_base_path={testdata}/saved_model_half_plus_two_cpu",
        "--rest_api_host=127.0.0.1", "--grpc_host=127.0.0.1",
        f"--ssl_config_file={ssl_config}",
        f"--rest_api_ssl_cert_file={certificates.server.cert}",
        f"--rest_api_ssl_key_file={certificates.server.key}",
        f"--rest_api_ssl_ca_file={certificates.ca.cert}",
    )  # fmt: skip


def https(server: Any) -> str:
    return f"https://127.0.0.1:{server.rest_port}"


def client_context(certs: Certificates, client: Any = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs.ca.cert))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    return context


def predict_request() -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="half_plus_two"))
    request.inputs["x"].dtype = 1  # DT_FLOAT
    request.inputs["x"].tensor_shape.dim.add(size=2)
    request.inputs["x"].float_val.extend([1.0, 2.0])
    return request


def secure_channel(server: Any, certs: Certificates, client: Any = None) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=certs.ca.cert_bytes,
        private_key=client.key_bytes if client else None,
        certificate_chain=client.cert_bytes if client else None,
    )
    return grpc.secure_channel(server.grpc_address, credentials)


def grpc_predict(channel: grpc.Channel, metadata: Any = None) -> Any:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    return stub.Predict(predict_request(), timeout=20, metadata=metadata)


def grpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


# --- REST over HTTPS, with the token ------------------------------------------------------------


def test_rest_https_with_the_token_predicts(server: Any, certificates: Certificates) -> None:
    with httpx.Client(verify=client_context(certificates)) as client:
        for token in (TOKEN, OTHER_TOKEN):  # every token in the file is accepted
            answer = client.post(https(server) + PREDICT, json=BODY,
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"predictions": [2.5, 3.0, 4.5]}


@pytest.mark.parametrize(
    ("headers", "message", "challenge"),
    [
        ({}, "Missing bearer token", 'Bearer realm="sigserve"'),
        ({"Authorization": f"Basic {TOKEN}"}, "Missing bearer token", 'Bearer realm="sigserve"'),
        ({"Authorization": "Bearer"}, "Missing bearer token", 'Bearer realm="sigserve"'),
        ({"Authorization": "Bearer wrong"}, "Invalid bearer token",
         'Bearer realm="sigserve", error="invalid_token"'),
        ({"Authorization": f"Bearer {TOKEN}x"}, "Invalid bearer token",
         'Bearer realm="sigserve", error="invalid_token"'),
    ],
)  # fmt: skip
def test_rest_without_a_valid_token_is_401(
    server: Any, certificates: Certificates, headers: dict[str, str], message: str, challenge: str
) -> None:
    with httpx.Client(verify=client_context(certificates)) as client:
        for method, path in (("POST", PREDICT), ("GET", "/v1/models/half_plus_two"),
                             ("GET", "/v1/models/half_plus_two/metadata"),
                             ("GET", "/v1/no/such/path")):  # fmt: skip
            answer = client.request(method, https(server) + path, headers=headers,
                                    json=BODY if method == "POST" else None)  # fmt: skip
            assert answer.status_code == 401, (method, path)
            assert answer.json()["error"].startswith(message)
            assert answer.headers["www-authenticate"] == challenge
            assert TOKEN not in answer.text


def test_rest_probes_stay_open(server: Any, certificates: Certificates) -> None:
    with httpx.Client(verify=client_context(certificates)) as client:
        assert client.get(https(server) + "/livez").status_code == 200
        assert client.get(https(server) + "/readyz").status_code == 200


def test_cors_preflight_needs_no_token_and_allows_the_header(
    server: Any, certificates: Certificates
) -> None:
    origin = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    with httpx.Client(verify=client_context(certificates)) as client:
        preflight = client.options(https(server) + PREDICT, headers=origin)
        assert preflight.status_code == 200
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        refused = client.post(
            https(server) + PREDICT, json=BODY, headers={"Origin": origin["Origin"]}
        )
        assert refused.status_code == 401  # readable by the page: CORS headers on the 401
        assert refused.headers["access-control-allow-origin"] == "*"
        allowed_post = client.post(https(server) + PREDICT, json=BODY,
                                   headers={"Origin": origin["Origin"],
                                            "Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert allowed_post.status_code == 200
        assert allowed_post.headers["access-control-allow-origin"] == "*"


def test_plain_http_to_the_https_port_gets_no_answer(server: Any) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.post(f"http://127.0.0.1:{server.rest_port}{PREDICT}", json=BODY, timeout=10,
                   headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip


def test_https_with_an_unknown_ca_is_refused_by_the_client(server: Any) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(https(server) + "/livez", verify=ssl.create_default_context(), timeout=10)


# --- gRPC over TLS, with the token --------------------------------------------------------------


def test_grpc_tls_with_the_token_predicts(server: Any, certificates: Certificates) -> None:
    with secure_channel(server, certificates) as channel:
        response = grpc_predict(channel, [("authorization", f"Bearer {TOKEN}")])
    assert list(response.outputs["y"].float_val) == [2.5, 3.0]
    assert response.model_spec.name == "half_plus_two"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [(None, "Missing bearer token"), ([("authorization", "Bearer nope")], "Invalid bearer token"),
     ([("authorization", TOKEN)], "Missing bearer token")],
)  # fmt: skip
def test_grpc_without_a_valid_token_is_unauthenticated(
    server: Any, certificates: Certificates, metadata: Any, message: str
) -> None:
    with secure_channel(server, certificates) as channel:
        error = grpc_error(lambda: grpc_predict(channel, metadata))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error.details().startswith(message)
        from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

        status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = "half_plus_two"
        error = grpc_error(lambda: status(request, timeout=20, metadata=metadata))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_grpc_health_stays_open(server: Any, certificates: Certificates) -> None:
    with secure_channel(server, certificates) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=20)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_grpc_insecure_channel_to_the_tls_port_fails(server: Any) -> None:
    with grpc.insecure_channel(server.grpc_address) as channel:
        error = grpc_error(lambda: grpc_predict(channel, [("authorization", f"Bearer {TOKEN}")]))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


# --- client certificates (SSLConfig client_verify, --rest_api_ssl_ca_file) ----------------------


def test_grpc_client_certificate_signed_by_custom_ca_is_accepted(
    mutual: Any, certificates: Certificates
) -> None:
    with secure_channel(mutual, certificates, certificates.client) as channel:
        assert list(grpc_predict(channel).outputs["y"].float_val) == [2.5, 3.0]


@pytest.mark.parametrize("who", ["none", "stranger"])
def test_grpc_without_a_trusted_client_certificate_is_refused(
    mutual: Any, certificates: Certificates, who: str
) -> None:
    client = certificates.stranger if who == "stranger" else None
    with secure_channel(mutual, certificates, client) as channel:
        error = grpc_error(lambda: grpc_predict(channel))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_rest_client_certificate(mutual: Any, certificates: Certificates) -> None:
    context = client_context(certificates, certificates.client)
    answer = httpx.post(https(mutual) + PREDICT, json=BODY, verify=context, timeout=20)
    assert answer.json() == {"predictions": [2.5, 3.0, 4.5]}
    for client in (None, certificates.stranger):
        with pytest.raises(httpx.HTTPError):
            httpx.post(https(mutual) + PREDICT, json=BODY, timeout=20,
                       verify=client_context(certificates, client))  # fmt: skip


def test_the_log_never_shows_a_token(server: Any) -> None:
    assert TOKEN not in server.log() and OTHER_TOKEN not in server.log()
    assert json.dumps(TOKEN)[1:-1] not in server.log()
