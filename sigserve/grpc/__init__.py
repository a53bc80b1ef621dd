"""TF Serving's gRPC API (``PredictionService``, ``ModelService``, health) over ``grpc.aio``."""
