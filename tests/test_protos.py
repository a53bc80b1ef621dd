import subprocess
import sys


def test_protos_load_without_tensorflow_runtime() -> None:
    code = (
        "import sys\n"
        "from sigserve import protos\n"
        "r = protos.predict_pb2.PredictRequest()\n"
        "r.inputs['x'].CopyFrom(protos.tensor_pb2.TensorProto(dtype=1))\n"
        "protos.example_pb2.Example()\n"
        "assert 'tensorflow.python' not in sys.modules, 'TensorFlow runtime was loaded'\n"
        "assert 'tensorflow' not in sys.modules\n"
        "import tensorflow as tf\n"
        "r.inputs['y'].CopyFrom(tf.make_tensor_proto([1.0, 2.0]))\n"
        "assert tf.make_ndarray(r.inputs['y']).tolist() == [1.0, 2.0]\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_import_sigserve_does_not_load_tensorflow() -> None:
    code = "import sys, sigserve, sigserve.cli.main\nassert 'tensorflow' not in sys.modules\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
