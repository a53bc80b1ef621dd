"""Errors keep TF Serving's text first, then say what the signature expects; a model
that fails by itself (a variable never restored) is INTERNAL / HTTP 500."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from sigserve.client import Client, GrpcClient
from sigserve.errors import Code, ServingError


def _build_faulty(base: Path) -> None:
    """``serving_default``: x [?,?] @ w [2,1] (a [1,3] x passes the signature and fails
    in MatMul); ``lost_variable`` reads a variable the saver never saved."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None], name="x")
        w = tf.compat.v1.get_variable("w", initializer=tf.ones([2, 1]), use_resource=True)
        lost = tf.compat.v1.get_variable("lost", initializer=tf.ones([]), use_resource=True)
        y = tf.matmul(x, w, name="y")
        z = tf.add(tf.reduce_sum(x), lost, name="z")
        signature = tf.compat.v1.saved_model.predict_signature_def
        with tf.compat.v1.Session(graph=graph) as session:
            session.run([w.initializer, lost.initializer])
            builder = tf.compat.v1.saved_model.Builder(str(base / "1"))
            builder.add_meta_graph_and_variables(
                session,
                ["serve"],
                signature_def_map={
                    "serving_default": signature({"x": x}, {"y": y}),
                    "lost_variable": signature({"x": x}, {"z": z}),
                },
                saver=tf.compat.v1.train.Saver([w]),
            )
            builder.save()


@pytest.fixture(scope="module")
def server(start_server, testdata: Path, tmp_path_factory):
    faulty = tmp_path_factory.mktemp("faulty")
    _build_faulty(faulty)
    config = tmp_path_factory.mktemp("config") / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "half_plus_two" base_path: "{testdata}/saved_model_half_plus_two_cpu" '
        'model_platform: "tensorflow" }\n'
        f'  config {{ name: "faulty" base_path: "{faulty}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    return start_server(f"--model_config_file={config}")


@pytest.fixture(params=["rest", "grpc"])
def client(request, server):
    made = Client(server.rest_url) if request.param == "rest" else GrpcClient(server.grpc_address)
    yield made
    made.close()


def error_of(call) -> ServingError:
    with pytest.raises(ServingError) as e:
        call()
    return e.value


def test_a_wrong_input_name_lists_the_real_inputs(client) -> None:
    error = error_of(lambda: client.predict("half_plus_two", {"y": np.ones((1, 1), np.float32)}))
    assert error.code == Code.INVALID_ARGUMENT
    tf_serving_text = (
        "Failed to process element: 0 key: y of 'instances' list. Error: INVALID_ARGUMENT: "
        "JSON object: does not have named input: y"
        if isinstance(client, Client)
        else "input size does not match signature: 1!=1 len({y}) != len({x}). "
        "Sent extra: {y}. Missing but required: {x}."
    )
    assert error.message.startswith(tf_serving_text), error.message
    assert error.message.endswith('Signature "serving_default" expects inputs: x DT_FLOAT [?,1]')


def test_a_wrong_dtype_says_what_is_expected(server) -> None:
    with GrpcClient(server.grpc_address) as client:
        error = error_of(lambda: client.predict("half_plus_two", {"x": np.array([["a"]], object)}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith("Expects arg[0] to be float but string is provided")
    assert error.message.endswith("expects inputs: x DT_FLOAT [?,1]")


def test_a_shape_the_graph_rejects_keeps_tf_first_line_and_drops_graph_noise(client) -> None:
    error = error_of(lambda: client.predict("faulty", {"x": np.ones((1, 3), np.float32)}))
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message.startswith("Matrix size-incompatible: In[0]: [1,3], In[1]: [2,1]")
    assert "[[" not in error.message and "{{" not in error.message and "\n" not in error.message
    assert error.message.endswith('Signature "serving_default" expects inputs: x DT_FLOAT [?,?]')


def test_a_right_request_still_works(client) -> None:
    out = client.predict("faulty", {"x": np.array([[1.0, 2.0]], np.float32)})
    np.testing.assert_array_equal(out, np.array([[3.0]], np.float32))


def test_a_variable_the_model_lacks_is_internal(client) -> None:
    error = error_of(lambda: client.predict("faulty", {"x": np.ones((1, 2), np.float32)},
                                            signature_name="lost_variable"))  # fmt: skip
    assert error.code == Code.INTERNAL, error
    assert "lost" in error.message and "not caused by the request" in error.message
    assert "[[" not in error.message


def test_a_variable_the_model_lacks_is_http_500(server) -> None:
    r = httpx.post(
        f"{server.rest_url}/v1/models/faulty:predict",
        json={"signature_name": "lost_variable", "instances": [[1.0, 2.0]]},
        timeout=30,
    )
    assert r.status_code == 500, r.text
    assert "lost" in r.json()["error"]
