"""Interleaved timing: contenders take turns in short blocks; medians and per-round ratios.

On a small shared machine the speed of the CPU changes from second to second (other
processes, frequency, the BLAS threads' spin-wait). Timing contender A for ten seconds and
then B for ten seconds would compare two different machines. Here every *round* runs one short
block of steps of each contender, in a new order each round, so that all contenders see the
same conditions; a ratio is computed within each round (A's block time over B's block time in
the same round) and the median over rounds is reported.

Each block starts with one untimed step. What runs before a block (another contender, the
pause around PyTorch's blocks) leaves the BLAS threads asleep and the caches cold, and the
first step after it pays to wake them: with blocks of 25 steps, that one step added 10-15 % to
the contender that came after PyTorch's block. A user's training loop does not pay it every
25 steps, so a block times the steady state.
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import time
from collections.abc import Callable

__all__ = [
    "CpuLoad",
    "QuietGate",
    "Timings",
    "interleave",
    "others_busy",
    "time_once",
    "wait_quiet",
]

# A round counts as undisturbed when other processes kept fewer cores busy than this.
QUIET_CORES = 0.25


@dataclasses.dataclass
class Timings:
    """Seconds per step of each contender, one value per round.

    ``round_load`` is the number of cores other processes kept busy during each round.
    Medians and ratios use the undisturbed rounds (below ``QUIET_CORES``) when there are
    enough of them (at least 5 and a third of all rounds), else every round.
    """

    per_round: dict[str, list[float]]
    block: int
    load: dict | None = None
    round_load: list[float | None] = dataclasses.field(default_factory=list)

    @property
    def used_rounds(self) -> list[int]:
        count = len(next(iter(self.per_round.values())))
        quiet = [
            r for r, load in enumerate(self.round_load) if load is not None and load < QUIET_CORES
        ]
        if len(quiet) >= max(5, count / 3):
            return quiet
        return list(range(count))

    def _values(self, name: str) -> list[float]:
        values = self.per_round[name]
        return [values[r] for r in self.used_rounds]

    def median(self, name: str) -> float:
        return statistics.median(self._values(name))

    def ratio(self, name: str, baseline: str) -> float:
        """Median over rounds of ``name``'s time divided by ``baseline``'s in the same round."""
        a, b = self._values(name), self._values(baseline)
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    def spread(self, name: str) -> tuple[float, float]:
        """The 25th and 75th percentiles of the per-round times (a noise indicator)."""
        values = sorted(self._values(name))
        if len(values) < 4:
            return values[0], values[-1]
        q = statistics.quantiles(values, n=4)
        return q[0], q[2]

    def __repr__(self) -> str:
        names = ", ".join(f"{k}={self.median(k) * 1e6:.1f}µs" for k in self.per_round)
        return f"Timings({names}, rounds={len(next(iter(self.per_round.values())))})"


class CpuLoad:
    """How busy the machine was with *other* processes between ``start()`` and ``stop()``.

    Reads the machine-wide busy time from ``/proc/stat`` and subtracts this process's CPU time
    (threads and waited-for children included). Returns None where ``/proc/stat`` is missing.
    """

    def __init__(self):
        self._start = None

    @staticmethod
    def _busy_seconds() -> float | None:
        try:
            with open("/proc/stat") as f:
                fields = f.readline().split()[1:]
        except OSError:
            return None
        values = [int(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        busy = sum(values[:8]) - idle
        return busy / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_seconds() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def start(self) -> CpuLoad:
        self._start = (time.perf_counter(), self._busy_seconds(), self._own_seconds())
        return self

    def stop(self) -> dict | None:
        wall0, busy0, own0 = self._start
        busy1 = self._busy_seconds()
        if busy0 is None or busy1 is None:
            return None
        wall = time.perf_counter() - wall0
        others = max(0.0, (busy1 - busy0) - (self._own_seconds() - own0))
        return {"wall_seconds": wall, "other_cores_busy": others / wall if wall else 0.0}


def _run_block(step, block: int, settle: float, lead: int = 1) -> float:
    """Seconds per step of one block, after ``lead`` untimed steps: local steps timed here,
    remote ones in their process."""
    if getattr(step, "remote", False):
        time.sleep(settle)  # let this process's idle BLAS threads stop spinning
        seconds = step.block(block, lead=lead)
        time.sleep(settle)  # and the worker's OpenMP threads
        return seconds
    for _ in range(lead):
        step()
    clock = time.perf_counter
    start = clock()
    for _ in range(block):
        step()
    return (clock() - start) / block


def interleave(
    contenders: dict[str, Callable[[], object]],
    *,
    rounds: int,
    block: int,
    warmup: int = 3,
    settle: float = 0.3,
    lead: int = 1,
    seed: int = 0,
) -> Timings:
    """Time each contender's ``step()`` in ``rounds`` rounds of ``block`` calls.

    Each round runs the contenders in a new order (shuffled, from ``seed``), so that none
    always comes first, last or after the same neighbour (a rotation keeps every contender's
    neighbours). Every block starts with ``lead`` untimed steps; ``warmup`` blocks of each
    contender run first, untimed. A contender with ``remote = True`` (a PyTorch worker
    process) runs its block itself, with ``settle`` seconds of pause before and after it.
    """
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            _run_block(contenders[name], block, 0.0, lead=0)
    per_round: dict[str, list[float]] = {name: [] for name in names}
    round_load: list[float | None] = []
    order = random.Random(seed)
    load = CpuLoad().start()
    for _ in range(rounds):
        this_round = CpuLoad().start()
        for name in order.sample(names, len(names)):
            per_round[name].append(_run_block(contenders[name], block, settle, lead))
        busy = this_round.stop()
        round_load.append(None if busy is None else busy["other_cores_busy"])
    return Timings(per_round, block, load.stop(), round_load)


def others_busy(seconds: float = 0.5) -> float | None:
    """Cores kept busy by other processes over the next ``seconds`` (None: unknown)."""
    load = CpuLoad().start()
    time.sleep(seconds)
    result = load.stop()
    return None if result is None else result["other_cores_busy"]


def wait_quiet(max_wait: float, *, threshold: float = QUIET_CORES, log=None) -> float:
    """Wait (at most ``max_wait`` seconds) until other processes leave the CPUs alone.

    Returns the seconds waited. A shared two-core machine is the worst case for BLAS and
    OpenMP thread pools, whose threads wait for each other: a busy neighbour can make one
    contender ten times slower, so sections start when the machine is quiet.
    """
    start = time.perf_counter()
    said = False
    while time.perf_counter() - start < max_wait:
        busy = others_busy(0.5)
        if busy is None or busy < threshold:
            break
        if log is not None and not said:
            log(f"  waiting for other processes to leave the CPUs ({busy:.1f} cores busy)")
            said = True
    return time.perf_counter() - start


class QuietGate:
    """Calls :func:`wait_quiet` before each measurement, within a total waiting budget."""

    def __init__(self, budget_seconds: float, *, per_wait: float = 60.0, log=None):
        self.budget = budget_seconds
        self.per_wait = per_wait
        self.log = log
        self.waited = 0.0

    def __call__(self) -> float:
        left = self.budget - self.waited
        if left <= 0:
            return 0.0
        waited = wait_quiet(min(left, self.per_wait), log=self.log)
        self.waited += waited
        return waited

    def __repr__(self) -> str:
        return f"QuietGate(waited={self.waited:.0f}s of {self.budget:.0f}s)"


def time_once(function: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call takes, and its result."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result
