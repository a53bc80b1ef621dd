"""Warmup replay: TF Serving's warmup file format, read without TensorFlow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sigserve import protos
from sigserve.codecs.tensor_proto import from_numpy
from sigserve.errors import Code, ServingError
from sigserve.runtime.tfrecord import masked_crc, read_records, write_records
from sigserve.runtime.warmup import MAX_RECORDS, WARMUP_FILE, run_warmup


class RecordingServable:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, np.ndarray], list[str]]] = []
        self.fail = fail

    def run(self, signature: str, inputs: dict[str, np.ndarray], output_filter: Any = ()) -> dict:
        if self.fail:
            raise ServingError(Code.INVALID_ARGUMENT, "bad warmup input")
        self.calls.append((signature, inputs, list(output_filter)))
        return {}


def predict_log(x: list[float], signature: str = "") -> bytes:
    entry = protos.prediction_log_pb2.PredictionLog()
    request = entry.predict_log.request
    request.model_spec.name = "m"
    request.model_spec.signature_name = signature
    request.inputs["x"].CopyFrom(from_numpy(np.array(x, dtype=np.float32)))
    request.output_filter.append("y")
    return entry.SerializeToString()


def write_warmup(version_dir: Path, records: list[bytes]) -> Path:
    path = version_dir / WARMUP_FILE
    path.parent.mkdir(parents=True)
    write_records(str(path), records)
    return path


def test_masked_crc_known_value() -> None:
    # crc32c("123456789") is 0xE3069283 (the standard check value).
    from sigserve.runtime.tfrecord import crc32c

    assert crc32c(b"123456789") == 0xE3069283
    assert masked_crc(b"") == 0xA282EAD8


def test_replays_every_record_n_times(tmp_path: Path) -> None:
    write_warmup(tmp_path, [predict_log([1.0, 2.0]), predict_log([3.0], "sig")])
    servable = RecordingServable()
    assert run_warmup(servable, str(tmp_path), iterations=3) == 2
    assert [c[0] for c in servable.calls] == [""] * 3 + ["sig"] * 3
    np.testing.assert_array_equal(servable.calls[0][1]["x"], np.array([1, 2], np.float32))
    assert servable.calls[0][2] == ["y"]


def test_no_warmup_file(tmp_path: Path) -> None:
    assert run_warmup(RecordingServable(), str(tmp_path)) == 0


def test_failing_request_fails_warmup(tmp_path: Path) -> None:
    write_warmup(tmp_path, [predict_log([1.0])])
    with pytest.raises(ServingError, match="bad warmup input"):
        run_warmup(RecordingServable(fail=True), str(tmp_path))


def test_too_many_records(tmp_path: Path) -> None:
    write_warmup(tmp_path, [predict_log([1.0])] * (MAX_RECORDS + 1))
    with pytest.raises(ServingError) as info:
        run_warmup(RecordingServable(), str(tmp_path))
    assert "Number of warmup records exceeds the maximum (1000)" in info.value.message


def test_corrupted_file_is_data_loss(tmp_path: Path) -> None:
    path = write_warmup(tmp_path, [predict_log([1.0])])
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ServingError) as info:
        run_warmup(RecordingServable(), str(tmp_path))
    assert info.value.code == Code.DATA_LOSS


def test_truncated_file_is_data_loss(tmp_path: Path) -> None:
    path = write_warmup(tmp_path, [predict_log([1.0])])
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ServingError) as info:
        list(read_records(str(path)))
    assert info.value.code == Code.DATA_LOSS


def test_unparsable_record(tmp_path: Path) -> None:
    write_warmup(tmp_path, [b"\xff\xff\xff"])
    with pytest.raises(ServingError, match="Failed to parse warmup record"):
        run_warmup(RecordingServable(), str(tmp_path))


def test_unsupported_log_type(tmp_path: Path) -> None:
    entry = protos.prediction_log_pb2.PredictionLog()
    entry.session_run_log.SetInParent()
    write_warmup(tmp_path, [entry.SerializeToString()])
    with pytest.raises(ServingError) as info:
        run_warmup(RecordingServable(), str(tmp_path))
    assert info.value.code == Code.UNIMPLEMENTED


def test_reads_files_written_by_tensorflow(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    path = tmp_path / "records"
    records = [predict_log([float(i)]) for i in range(3)] + [b"", b"x" * 100_000]
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    assert list(read_records(str(path))) == records
