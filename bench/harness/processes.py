"""Child processes of a benchmark run: each in its own session (process group), logged to a
file, measured (VmRSS of the whole group) and always ended, also on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_live: dict[int, subprocess.Popen[bytes]] = {}


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    started: float  # time.monotonic() just before the launch
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def exited(self) -> bool:
        return self.process.poll() is not None

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line for line in text.splitlines() if line.strip()]
        return "\n".join(kept[-lines:])


def launch(
    command: list[str],
    log: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdout_pipe: bool = False,
) -> Launched:
    """Start ``command`` in a new session; stderr (and stdout unless piped) go to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else out,
            stderr=out,
            start_new_session=True,
        )
    _live[process.pid] = process
    return Launched(process, started, log)


def stop(launched: Launched, grace_s: float = 5.0) -> None:
    """SIGTERM the process group, SIGKILL what is left after ``grace_s``."""
    _end(launched.process, grace_s)


def stop_all() -> None:
    """End every process this run started and has not stopped yet."""
    for process in list(_live.values()):
        _end(process, 3.0)


def _end(process: subprocess.Popen[bytes], grace_s: float) -> None:
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    _signal_group(process.pid, signal.SIGKILL)  # children that outlived their parent, too
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    if process.stdout is not None:
        process.stdout.close()
    _live.pop(process.pid, None)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_members(pgid: int) -> list[tuple[str, list[str]]]:
    """(pid, /proc/<pid>/stat fields after the command name) of each process in group pgid."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            members.append((entry, fields))
    return members


def group_rss_mib(pgid: int) -> float:
    """VmRSS summed over the processes of group ``pgid`` (a server and any workers it forks)."""
    total_kib = 0
    for pid, _ in _group_members(pgid):
        with contextlib.suppress(OSError):
            total_kib += vm_rss_kib(Path(f"/proc/{pid}/status").read_text())
    return total_kib / 1024


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds used so far by the processes of group ``pgid``."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _group_members(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


def vm_rss_kib(status: str) -> int:
    """The VmRSS line of a /proc/<pid>/status text, in KiB (0 for a zombie)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
