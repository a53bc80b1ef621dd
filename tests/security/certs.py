"""Real certificates for tests, made with the ``openssl`` command: a CA, a server
certificate for 127.0.0.1/localhost and client certificates it signs, and a second,
unrelated CA with a client certificate of its own."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pem:
    cert: Path
    key: Path

    @property
    def cert_bytes(self) -> bytes:
        return self.cert.read_bytes()

    @property
    def key_bytes(self) -> bytes:
        return self.key.read_bytes()


@dataclass(frozen=True)
class Certificates:
    ca: Pem
    server: Pem
    client: Pem
    other_ca: Pem
    stranger: Pem  # a client certificate signed by other_ca


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(folder: Path, name: str) -> Pem:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
             cwd=folder)  # fmt: skip
    return Pem(cert, key)


def _signed(folder: Path, name: str, ca: Pem, extensions: str) -> Pem:
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    ext = folder / f"{name}.ext"
    ext.write_text(extensions)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}", cwd=folder)  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
             "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext),
             cwd=folder)  # fmt: skip
    return Pem(cert, key)


def make_certificates(folder: Path) -> Certificates:
    ca = _ca(folder, "test-ca")
    server = _signed(folder, "server", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                     "extendedKeyUsage=serverAuth\n")  # fmt: skip
    client = _signed(folder, "client", ca, "extendedKeyUsage=clientAuth\n")
    other_ca = _ca(folder, "other-ca")
    stranger = _signed(folder, "stranger", other_ca, "extendedKeyUsage=clientAuth\n")
    return Certificates(ca, server, client, other_ca, stranger)


def ssl_config_text(certs: Certificates, *, client_verify: bool) -> str:
    """TF Serving's text SSLConfig: PEM text in the fields."""

    def quoted(pem: bytes) -> str:
        return '"' + pem.decode().replace("\n", "\\n") + '"'

    lines = [f"server_key: {quoted(certs.server.key_bytes)}",
             f"server_cert: {quoted(certs.server.cert_bytes)}"]  # fmt: skip
    if client_verify:
        lines += [f"custom_ca: {quoted(certs.ca.cert_bytes)}", "client_verify: true"]
    return "\n".join(lines) + "\n"
