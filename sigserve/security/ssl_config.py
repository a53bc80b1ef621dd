"""``--ssl_config_file``: TF Serving's text ``tensorflow.serving.SSLConfig``.

Its fields hold PEM *text*, not file names (as in TF Serving's ``ssl_config.proto``):

    server_key: "-----BEGIN PRIVATE KEY-----\\n..."
    server_cert: "-----BEGIN CERTIFICATE-----\\n..."
    custom_ca: "-----BEGIN CERTIFICATE-----\\n..."   # CA that signs client certificates
    client_verify: true                               # require and verify one

TF Serving builds gRPC's SSL server credentials from it (``server.cc``): the key and
certificate pair; ``client_verify`` requests, requires and verifies a client
certificate against ``custom_ca``. TF Serving aborts on a bad file; sigserve refuses
to start with a message naming the field. The message is declared here from its
field list, because the ``tensorflow-serving-api`` package does not ship it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigserve.errors import invalid_argument
from sigserve.protos import declare_messages, parse_text
from sigserve.security.certificates import check_certificates, check_key_pair

# (name, number, type, repeated) from tensorflow_serving/config/ssl_config.proto.
_FIELDS = [("server_key", 1, "string", False), ("server_cert", 2, "string", False),
           ("custom_ca", 3, "string", False), ("client_verify", 4, "bool", False)]  # fmt: skip

SSLConfig = declare_messages("sigserve/ssl_config.proto", {"SSLConfig": _FIELDS})["SSLConfig"]


@dataclass(frozen=True)
class SslSettings:
    """A checked SSLConfig: PEM bytes, and whether clients must present a certificate."""

    server_key: bytes
    server_cert: bytes
    custom_ca: bytes | None
    client_verify: bool


def read_ssl_config(path: str) -> SslSettings:
    """The SSLConfig in the text file ``path``, checked (INVALID_ARGUMENT naming the
    problem otherwise)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise invalid_argument(f"--ssl_config_file: cannot read {path}: {e}") from None
    return ssl_settings(parse_text(text, SSLConfig(), path), path)


def ssl_settings(message: Any, source: str = "<SSLConfig>") -> SslSettings:
    """Check an SSLConfig message; the settings gRPC's credentials are built from."""
    for name in ("server_key", "server_cert"):
        if not getattr(message, name).strip():
            raise invalid_argument(f"--ssl_config_file {source}: {name} is empty")
    if message.client_verify and not message.custom_ca.strip():
        raise invalid_argument(
            f"--ssl_config_file {source}: client_verify needs custom_ca, the PEM text of the "
            "certificate authority that signs client certificates"
        )
    key, cert = message.server_key.encode(), message.server_cert.encode()
    ca = message.custom_ca.encode() if message.custom_ca.strip() else None
    where = f"--ssl_config_file {source}"
    check_key_pair(cert, key, f"{where}: server_cert and server_key")
    if ca is not None:
        check_certificates(ca, f"{where}: custom_ca")
    return SslSettings(key, cert, ca, bool(message.client_verify))
