"""PEM keys and certificates, checked with Python's ``ssl`` before the server starts, so
a wrong file is a clear start-up error instead of a failed handshake per client."""

from __future__ import annotations

import os
import ssl
import tempfile

from sigserve.errors import invalid_argument

_PEM = b"-----BEGIN "


def check_key_pair(cert_pem: bytes, key_pem: bytes, what: str) -> None:
    """``cert_pem`` (a chain) and ``key_pem`` must be PEM text and belong together."""
    for name, pem in (("certificate", cert_pem), ("key", key_pem)):
        if _PEM not in pem:
            raise invalid_argument(
                f"{what}: the {name} is not PEM text (it must hold the PEM itself, "
                f"-----BEGIN ..., not a file name)"
            )
    with tempfile.TemporaryDirectory(prefix="sigserve-tls-") as folder:
        cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, pem in ((cert_path, cert_pem), (key_path, key_pem)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                f.write(pem)
        load_key_pair(cert_path, key_path, what)


def load_key_pair(cert_path: str, key_path: str, what: str) -> ssl.SSLContext:
    """A server context holding the certificate chain and key in these PEM files."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_path, key_path)
    except (ssl.SSLError, OSError) as e:
        raise invalid_argument(
            f"{what}: cannot use this certificate and key ({_reason(e)})"
        ) from None
    return context


def check_certificates(pem: bytes, what: str) -> None:
    """``pem`` must hold at least one PEM certificate (a CA bundle)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=pem.decode("ascii"))
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as e:
        raise invalid_argument(f"{what}: not PEM certificates ({_reason(e)})") from None


def check_certificate_file(path: str, what: str) -> None:
    try:
        with open(path, "rb") as f:
            pem = f.read()
    except OSError as e:
        raise invalid_argument(f"{what}: cannot read {path}: {_reason(e)}") from None
    check_certificates(pem, what)


def _reason(error: Exception) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return error.reason.replace("_", " ").lower()
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
