"""Model worker processes: on a CPU, one single-threaded worker per core runs tiles side by side.

Why: at VRT's widths MindSpore's CPU kernels are too small to keep two threads busy, so one process
leaves a core idle much of the time. A compiled process pinned to one core is about as fast per call
as one using both cores, so one pinned worker per core does nearly twice the work in the same time
(bench/workers_speed.py). Each worker loads the model, compiles it and serves clips over a pipe;
results come back in the order the clips were given, so blending stays exact. A new input shape
starts fresh workers: MindSpore caches one graph per process (vrt_engine.graph_cache).

Workers start when first needed, die with the parent (even after kill -9: PR_SET_PDEATHSIG and the
pipe's end of file), and a worker that fails or is killed takes the pool down with a one-line
``WorkerError``; the next call starts fresh workers.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import re
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait

import numpy as np

_STOP = None  # sent to a worker to make it exit


class WorkerError(RuntimeError):
    """A model worker failed or died; the message is one line (``out of memory`` when that is why)."""


def usable_cores() -> list[int]:
    """The CPU cores this process may run on (all of them where affinity is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so a killed job leaves no worker behind."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type's name when empty), at most ``limit`` characters."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


def eager_fallback_notice(exc: BaseException) -> str:
    """What the user is told when graph mode fails (as inside a frozen bundle) and eager mode takes over."""
    log = os.environ.get("VRT_STDERR_LOG")  # set by the desktop bundle, which keeps MindSpore's text there
    where = f"; MindSpore's log: {log}" if log else ""
    return f"graph mode failed ({first_line(exc, 160)}); running eager mode (slower){where}"


def _worker_main(conn: Connection, model: str, graph: bool, core: int | None) -> None:
    """Body of a worker process: load, then answer each clip with ("ok", output, seconds, notice).

    The first clip's graph goes through the graph cache (vrt_engine.graph_cache): the pool starts one
    worker per input shape, so each shape gets its own cache entry.
    """
    _die_with_parent()
    from .devices import Device, activate, pin_to_core

    if core is not None:
        pin_to_core(core)  # before MindSpore starts, so it sizes its thread pool to one core
    try:
        import mindspore as ms

        from . import graph_cache, load_model
        from .models_dir import resolve_model

        activate(Device("cpu"))

        def build():
            net = load_model(model)
            net.set_train(False)
            return net, (ms.jit(net.construct) if graph else net)

        net, forward = build()
        model_file = resolve_model(model)
    except Exception as exc:  # reported to the parent, which raises it there
        conn.send(("failed", f"{type(exc).__name__}: {first_line(exc)}"))
        return
    first = graph
    while True:
        try:
            clip = conn.recv()
        except (EOFError, OSError):
            return
        if clip is _STOP:
            return
        start = time.perf_counter()
        notices: list[str] = []
        try:
            try:
                if first:
                    first = False
                    slot = graph_cache.GraphSlot(graph_cache.graph_key(model_file, "cpu", "float32", clip.shape, 1))

                    def rebuild():
                        nonlocal net
                        net, fresh = build()
                        return fresh

                    try:
                        x = ms.Tensor(clip)
                        out, forward = graph_cache.first_call(slot, forward, rebuild, lambda f: f(x).asnumpy())  # noqa: B023
                    finally:
                        notices += slot.notices
                else:
                    out = forward(ms.Tensor(clip)).asnumpy()
            except Exception as exc:
                if forward is net or is_out_of_memory(exc):
                    raise
                notices.append(eager_fallback_notice(exc))
                forward = net
                out = net(ms.Tensor(clip)).asnumpy()
        except Exception as exc:
            conn.send(("failed", f"{type(exc).__name__}: {first_line(exc)}"))
            continue
        conn.send(("ok", out, time.perf_counter() - start, "\n".join(notices) or None))


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception means the device ran out of memory (MindSpore words it several ways)."""
    return isinstance(exc, MemoryError) or bool(
        re.search(r"out of memory|memory.*(alloc|insufficient)", str(exc), re.I)
    )


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: mp.context.BaseContext, model: str, graph: bool, core: int | None) -> None:
        self.conn, child_end = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child_end, model, graph, core), name=f"vrt-model-worker-{core}", daemon=True
        )
        self.process.start()
        child_end.close()  # only the child holds it now: its death reads as end of file here

    def stop(self, timeout: float = 5.0) -> None:
        try:
            self.conn.send(_STOP)
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()

    def death_reason(self) -> str:
        self.process.join(5.0)
        code = self.process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            why = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"model worker was killed by {name}{why}"
        return f"model worker exited unexpectedly (exit status {code})"


class WorkerPool:
    """Up to ``len(cores)`` worker processes, each pinned to one core, running one model.

    ``model`` is anything :func:`vrt_engine.load_model` accepts; workers load it themselves.
    """

    def __init__(self, model: str, graph: bool = True, cores: Sequence[int | None] = (None,)) -> None:
        if not cores:
            raise ValueError("a worker pool needs at least one core")
        self.model = model
        self.graph = graph
        self.cores = list(cores)
        self.notices: list[str] = []
        self._context = mp.get_context("spawn")  # MindSpore is not safe to fork once imported
        self._workers: list[_Worker] = []
        self._shape: tuple[int, ...] | None = None  # the input shape the running workers compiled

    @property
    def size(self) -> int:
        """How many workers may run at once."""
        return len(self.cores)

    @property
    def started(self) -> int:
        """Workers running now (they start on demand)."""
        return len(self._workers)

    def map(self, clips: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, float]]:
        """Run the model on each (N, D, C, H, W) float32 clip; yield (output, worker seconds) in order.

        At most one clip is in flight per worker, so the parent holds only a few outputs at a time.
        Stopping early waits for the clips in flight and drops their outputs, so the pool stays usable.
        """
        pending = iter(clips)
        exhausted = False
        next_in = next_out = 0
        in_flight: dict[_Worker, int] = {}
        done: dict[int, tuple[np.ndarray, float]] = {}
        try:
            while True:
                while not exhausted and len(in_flight) < self.size:
                    clip = next(pending, None)
                    if clip is None:
                        exhausted = True
                        break
                    if self.graph and clip.shape != self._shape:
                        self._new_shape(clip.shape, in_flight, done)
                    worker = self._idle_worker(in_flight)
                    self._send(worker, np.ascontiguousarray(clip, dtype=np.float32))
                    in_flight[worker] = next_in
                    next_in += 1
                if next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
                    continue
                if not in_flight:
                    return
                for conn in wait([w.conn for w in in_flight]):
                    worker = next(w for w in in_flight if w.conn is conn)
                    done[in_flight.pop(worker)] = self._receive(worker)
        except GeneratorExit:  # the consumer stopped early: let the workers finish, drop what they send
            self._drain(in_flight)
            raise
        except BaseException:
            self.close()  # a failed pool must not hand stale outputs to the next call
            raise

    def _new_shape(self, shape: tuple[int, ...], in_flight: dict[_Worker, int], done: dict) -> None:
        """A new input shape: fresh workers, so that each caches its graph (MindSpore caches one per process)."""
        if self._workers:
            for worker in list(in_flight):  # clips of the old shape finish first
                done[in_flight.pop(worker)] = self._receive(worker)
            self.close()
        self._shape = tuple(shape)

    def _idle_worker(self, in_flight: dict[_Worker, int]) -> _Worker:
        for worker in self._workers:
            if worker not in in_flight:
                return worker
        worker = _Worker(self._context, self.model, self.graph, self.cores[len(self._workers)])
        self._workers.append(worker)
        return worker

    def _send(self, worker: _Worker, clip: np.ndarray) -> None:
        try:
            worker.conn.send(clip)
        except (OSError, ValueError) as exc:
            raise WorkerError(worker.death_reason()) from exc

    def _receive(self, worker: _Worker) -> tuple[np.ndarray, float]:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerError(worker.death_reason()) from exc
        if message[0] == "failed":
            raise WorkerError(message[1])
        _, out, seconds, notice = message
        if notice:
            self.notices += notice.splitlines()
        return out, seconds

    def _drain(self, in_flight: dict[_Worker, int]) -> None:
        try:
            for worker in list(in_flight):
                self._receive(worker)
                in_flight.pop(worker)
        except WorkerError:
            self.close()

    def close(self) -> None:
        """Stop every worker (a later map starts new ones)."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()
