"""``--auth_token_file``: bearer tokens a client must send, on REST and on gRPC.

The file holds one token per line (several let a token be rotated without a
restart of clients: add the new one, move clients, remove the old one); blank
lines and lines starting with ``#`` are ignored. It is read once at start-up.
A token is never taken from the command line, where ``ps`` would show it.

A request carries ``Authorization: Bearer <token>`` (the HTTP header, or the
``authorization`` gRPC metadata key). Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import logging

from sigserve.errors import Code, ServingError, invalid_argument

log = logging.getLogger("sigserve")

MISSING = "Missing bearer token: send the header 'Authorization: Bearer <token>'"
INVALID = "Invalid bearer token"
_SHORT = 16


class BearerTokens:
    def __init__(self, tokens: list[str]) -> None:
        if not tokens:
            raise invalid_argument("no bearer token given")
        self._tokens = [t.encode() for t in tokens]

    @classmethod
    def from_file(cls, path: str) -> BearerTokens:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise invalid_argument(f"--auth_token_file: cannot read {path}: {e}") from None
        tokens = [line.strip() for line in lines if line.strip()]
        tokens = [t for t in tokens if not t.startswith("#")]
        if not tokens:
            raise invalid_argument(f"--auth_token_file: {path} holds no token")
        for token in tokens:
            if any(c.isspace() for c in token) or not token.isprintable() or not token.isascii():
                raise invalid_argument(
                    f"--auth_token_file: {path}: a token must be printable ASCII without spaces"
                )
        if any(len(t) < _SHORT for t in tokens):
            log.warning("--auth_token_file: a token shorter than %d characters is easy to "
                        "guess", _SHORT)  # fmt: skip
        return cls(tokens)

    def check(self, authorization: str | bytes | None) -> None:
        """Raise UNAUTHENTICATED unless ``authorization`` is ``Bearer <a known token>``."""
        if not authorization:
            raise ServingError(Code.UNAUTHENTICATED, MISSING)
        value = authorization.encode("latin-1") if isinstance(authorization, str) else authorization
        scheme, _, token = value.strip().partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            raise ServingError(Code.UNAUTHENTICATED, MISSING)
        token = token.strip()
        # Compare with every token, whatever matched, so the time does not tell which.
        matched = [hmac.compare_digest(token, known) for known in self._tokens]
        if not any(matched):
            raise ServingError(Code.UNAUTHENTICATED, INVALID)
