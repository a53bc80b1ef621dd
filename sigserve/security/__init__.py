"""Transport security settings, read and checked before the server starts: TF Serving's
``SSLConfig`` for gRPC (:mod:`.ssl_config`), PEM certificates for REST
(:mod:`.certificates`) and bearer tokens for both (:mod:`.tokens`). The transports
apply them (``sigserve.grpc.tls``, ``sigserve.grpc.auth``, ``sigserve.rest.auth``).
"""
