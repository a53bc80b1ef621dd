"""TFRecord files, read and written without TensorFlow (for warmup requests).

Each record is ``length (uint64 LE) | masked crc32c(length) (uint32 LE) | data |
masked crc32c(data) (uint32 LE)``; both checksums are verified.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from sigserve.errors import Code, ServingError


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path: str) -> Iterator[bytes]:
    """The records of an uncompressed TFRecord file; DATA_LOSS if it is damaged."""
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise _damaged(path, "truncated record header")
            length_bytes = header[:8]
            (length,) = struct.unpack("<Q", length_bytes)
            (length_crc,) = struct.unpack("<I", header[8:])
            if masked_crc(length_bytes) != length_crc:
                raise _damaged(path, "corrupted record length")
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise _damaged(path, "truncated record")
            if masked_crc(data) != struct.unpack("<I", footer)[0]:
                raise _damaged(path, "corrupted record data")
            yield data


def write_records(path: str, records: list[bytes]) -> None:
    """Write ``records`` as a TFRecord file (used to build warmup files)."""
    with open(path, "wb") as f:
        for data in records:
            length = struct.pack("<Q", len(data))
            f.write(length + struct.pack("<I", masked_crc(length)))
            f.write(data + struct.pack("<I", masked_crc(data)))


def _damaged(path: str, what: str) -> ServingError:
    return ServingError(Code.DATA_LOSS, f"{what} in TFRecord file {path}")
