"""Security settings are read and checked before the server starts: TF Serving's text
SSLConfig, PEM files for REST, bearer-token files; every mistake is one clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from certs import Certificates, ssl_config_text

from sigserve.config import ServerConfig
from sigserve.errors import Code, ServingError
from sigserve.security.settings import Security
from sigserve.security.ssl_config import read_ssl_config
from sigserve.security.tokens import INVALID, MISSING, BearerTokens

REPO = Path(__file__).resolve().parents[2]


def error_of(call, *args) -> ServingError:
    with pytest.raises(ServingError) as error:
        call(*args)
    return error.value


# --- SSLConfig ----------------------------------------------------------------------------------


def test_ssl_config_reads_tf_serving_text(certificates: Certificates, tmp_path: Path) -> None:
    path = tmp_path / "ssl.config"
    path.write_text(ssl_config_text(certificates, client_verify=True))
    settings = read_ssl_config(str(path))
    assert settings.server_key == certificates.server.key_bytes
    assert settings.server_cert == certificates.server.cert_bytes
    assert settings.custom_ca == certificates.ca.cert_bytes and settings.client_verify
    path.write_text(ssl_config_text(certificates, client_verify=False))
    settings = read_ssl_config(str(path))
    assert settings.custom_ca is None and not settings.client_verify


def quoted(pem: bytes) -> str:
    return '"' + pem.decode().replace("\n", "\\n") + '"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server_cert: {cert}", "server_key is empty"),
        ("server_key: {key}", "server_cert is empty"),
        ('server_key: "/etc/ssl/server.key" server_cert: "/etc/ssl/server.pem"',
         "not PEM text"),
        ("server_key: {other_key} server_cert: {cert}", "cannot use this certificate and key"),
        ("server_key: {key} server_cert: {cert} client_verify: true",
         "client_verify needs custom_ca"),
        ('server_key: {key} server_cert: {cert} custom_ca: "junk"', "custom_ca: not PEM"),
        ("server_key: {key} no_such_field: 1",
         "Error parsing text-format tensorflow.serving.SSLConfig"),
    ],
)  # fmt: skip
def test_ssl_config_mistakes(
    certificates: Certificates, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "ssl.config"
    path.write_text(text.format(key=quoted(certificates.server.key_bytes),
                                cert=quoted(certificates.server.cert_bytes),
                                other_key=quoted(certificates.client.key_bytes)))  # fmt: skip
    error = error_of(read_ssl_config, str(path))
    assert error.code == Code.INVALID_ARGUMENT
    assert message in error.message


def test_ssl_config_file_missing(tmp_path: Path) -> None:
    assert "cannot read" in error_of(read_ssl_config, str(tmp_path / "nope")).message


# --- REST certificate files ---------------------------------------------------------------------


def test_rest_certificate_files_are_checked(certificates: Certificates, tmp_path: Path) -> None:
    good = ServerConfig(rest_api_ssl_cert_file=str(certificates.server.cert),
                        rest_api_ssl_key_file=str(certificates.server.key),
                        rest_api_ssl_ca_file=str(certificates.ca.cert))  # fmt: skip
    assert Security.from_config(good).rest_tls
    mismatched = ServerConfig(rest_api_ssl_cert_file=str(certificates.server.cert),
                              rest_api_ssl_key_file=str(certificates.client.key))  # fmt: skip
    assert (
        "cannot use this certificate and key" in error_of(Security.from_config, mismatched).message
    )
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    bad_ca = ServerConfig(rest_api_ssl_cert_file=str(certificates.server.cert),
                          rest_api_ssl_key_file=str(certificates.server.key),
                          rest_api_ssl_ca_file=str(junk))  # fmt: skip
    assert "--rest_api_ssl_ca_file" in error_of(Security.from_config, bad_ca).message


# --- tokens -------------------------------------------------------------------------------------


def tokens_in(tmp_path: Path, text: str) -> BearerTokens:
    path = tmp_path / "tokens"
    path.write_text(text)
    return BearerTokens.from_file(str(path))


def test_token_file_lines(tmp_path: Path) -> None:
    tokens = tokens_in(
        tmp_path, "# comment\n\n  first-token-0123456789  \nsecond-token-0123456789\n"
    )
    for header in ("Bearer first-token-0123456789", "bearer second-token-0123456789",
                   b"BEARER  first-token-0123456789 "):  # fmt: skip
        tokens.check(header)
    refused = [(None, MISSING), ("", MISSING), ("Basic first-token-0123456789", MISSING),
               ("Bearer # comment", INVALID), ("Bearer first-token", INVALID),
               ("Bearer first-token-0123456789x", INVALID)]  # fmt: skip
    for header, message in refused:
        error = error_of(tokens.check, header)
        assert (error.code, error.message) == (Code.UNAUTHENTICATED, message)
        assert error.http_status == 401


@pytest.mark.parametrize("text", ["", "# only a comment\n\n", "two words\n", "t\u00e9st-token\n"])
def test_bad_token_files(tmp_path: Path, text: str) -> None:
    assert "--auth_token_file" in error_of(tokens_in, tmp_path, text).message


# --- start-up -----------------------------------------------------------------------------------


def serve(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sigserve", "serve", "--model_base_path=/nonexistent",
         "--port=0", "--rest_api_port=0", *flags],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip


def test_a_bad_setting_stops_the_server_before_anything_loads(tmp_path: Path) -> None:
    bad = tmp_path / "ssl.config"
    bad.write_text('server_key: "key.pem" server_cert: "cert.pem"')
    result = serve(f"--ssl_config_file={bad}")
    assert result.returncode == 1
    assert "server_cert and server_key: the certificate is not PEM text" in result.stderr
    assert "Traceback" not in result.stderr
    result = serve(f"--auth_token_file={tmp_path / 'missing'}")
    assert result.returncode == 1 and "--auth_token_file: cannot read" in result.stderr


def test_rest_key_and_certificate_go_together() -> None:
    result = serve("--rest_api_ssl_cert_file=cert.pem")
    assert result.returncode == 2
    assert "--rest_api_ssl_cert_file and --rest_api_ssl_key_file go together" in result.stderr
