"""Every security setting of a server, read and checked at once before models load."""

from __future__ import annotations

from dataclasses import dataclass

from sigserve.config import ServerConfig
from sigserve.security.certificates import check_certificate_file, load_key_pair
from sigserve.security.ssl_config import SslSettings, read_ssl_config
from sigserve.security.tokens import BearerTokens


@dataclass(frozen=True)
class Security:
    grpc_tls: SslSettings | None  # --ssl_config_file
    tokens: BearerTokens | None  # --auth_token_file
    rest_tls: bool  # --rest_api_ssl_cert_file / _key_file (checked, passed to uvicorn)

    @classmethod
    def from_config(cls, config: ServerConfig) -> Security:
        grpc_tls = read_ssl_config(config.ssl_config_file) if config.ssl_config_file else None
        tokens = BearerTokens.from_file(config.auth_token_file) if config.auth_token_file else None
        if config.rest_api_ssl_cert_file:
            load_key_pair(config.rest_api_ssl_cert_file, config.rest_api_ssl_key_file,
                          "--rest_api_ssl_cert_file/--rest_api_ssl_key_file")  # fmt: skip
        if config.rest_api_ssl_ca_file:
            check_certificate_file(config.rest_api_ssl_ca_file, "--rest_api_ssl_ca_file")
        return cls(grpc_tls, tokens, bool(config.rest_api_ssl_cert_file))
