"""``--max_requests_in_progress``: a bound on the requests the server holds at once.

REST and gRPC share one bound, since they share the memory and the model pool.
A request beyond it is refused at once with UNAVAILABLE (REST: 503) instead of
queueing, so an overloaded server answers fast and its memory stays bounded;
clients and load balancers retry elsewhere. Both transports run on one event
loop, so a plain counter is enough.
"""

from __future__ import annotations

from sigserve.errors import ServingError, unavailable


class RequestSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit  # 0: no bound
        self.in_use = 0

    def take(self) -> bool:
        """Take a slot for one request; False when all are taken."""
        if self.limit and self.in_use >= self.limit:
            return False
        self.in_use += 1
        return True

    def give_back(self) -> None:
        self.in_use -= 1

    def refusal(self) -> ServingError:
        return unavailable(
            f"Server is at its limit of {self.limit} requests in progress; try again later"
        )
