"""SIGTERM and SIGINT: the first asks for a graceful stop, a second ends the process at once.

After the first signal both go back to the operating system's default action,
so a second one terminates the process immediately (exit status 128 + signal
number in a shell, e.g. 143), even while the event loop is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignal:
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._received = asyncio.Event()
        self.name = ""  # of the first signal, e.g. "SIGTERM"
        for sig in SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        self.name = signal.Signals(sig).name
        for each in SIGNALS:
            self._loop.remove_signal_handler(each)
            signal.signal(each, signal.SIG_DFL)
        self._received.set()

    async def wait(self) -> None:
        await self._received.wait()

    async def unless_first(self, work: Awaitable[Any]) -> bool:
        """Await ``work`` unless a signal comes first (then cancel it): whether it finished.
        Its failure is raised."""
        task = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(self._received.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if task.done():
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
