"""Python clients for sigserve and TensorFlow Serving (REST and gRPC).

Neither client imports TensorFlow: tensors go in and come out as numpy.
"""

from sigserve.client.grpc import GrpcClient
from sigserve.client.rest import Client

__all__ = ["Client", "GrpcClient"]
