"""Where a server listens: ``host:port`` text, and ports checked before models load.

A port already taken is found before any model loads, as one clear error
(``ServingError``, printed by the CLI as one line). The REST socket is bound
here and handed to the HTTP server later; it does not listen until then, so a
client that connects during loading is refused, as before the port opens. The
gRPC port cannot be handed over (gRPC binds its own), so it is probed here and
gRPC's own bind (with ``SO_REUSEPORT`` off, so it cannot silently share a port)
is checked again when the server starts.
"""

from __future__ import annotations

import errno
import socket

from sigserve.errors import Code, ServingError


def host_port(host: str, port: int) -> str:
    """``0.0.0.0:8500``, ``[::1]:8500``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def cannot_listen(
    what: str, flags: tuple[str, str], host: str, port: int, error: OSError
) -> ServingError:
    """The one-line error for ``host:port`` that cannot be bound; ``flags``: (port, host)."""
    port_flag, host_flag = flags
    if error.errno == errno.EADDRINUSE:
        reason = f"port {port} is already in use (another server?); stop it or change --{port_flag}"
    elif error.errno == errno.EADDRNOTAVAIL:
        reason = f"{host} is not an address of this machine; change --{host_flag}"
    elif error.errno == errno.EACCES:
        reason = f"permission denied (ports below 1024 need privileges); change --{port_flag}"
    else:
        reason = f"{error.strerror or error}"
    return ServingError(Code.UNAVAILABLE, f"cannot listen for {what} on {host_port(host, port)}: "
                        f"{reason}")  # fmt: skip


def bind(what: str, flags: tuple[str, str], host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not listening yet), or a clear error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as e:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"cannot listen for {what}: unknown host {host!r} ({e.strerror})"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart reuses the port
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise cannot_listen(what, flags, host, port, e) from None
    return sock


def check_free(what: str, flags: tuple[str, str], host: str, port: int) -> None:
    """Raise the clear error now if ``host:port`` cannot be bound."""
    bind(what, flags, host, port).close()
