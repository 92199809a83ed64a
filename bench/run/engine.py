"""Where tasks run: a Dask ``distributed`` client, its worker processes, their limits.

``bench run`` hands every (method, case) task to a Dask client: by default a
``LocalCluster`` of worker processes on this machine (``--workers N``), or a
running scheduler (``--scheduler tcp://host:8786``, for example one started
by ``dask-jobqueue`` on SLURM or PBS). The single-machine run is the same
code with local workers. Workers receive everything a task needs as its
arguments and return a plain dict, so they need no shared filesystem.

What the engine adds to Dask:

- **hard timeouts.** Each task logs an event when it starts; a task running
  longer than its ``timeout_s`` is cancelled and its worker restarted
  (through its nanny), and :func:`run_tasks` reports it as ``timeout``.
- **crashes.** A task whose worker process dies (segfault, ``os._exit``, the
  memory limit, a kill) is retried on another worker ``retries`` times (so a
  worker lost by accident costs nothing), then reported as ``crashed`` with
  how its last worker ended (a signal, an exit status or the memory limit, as
  its nanny saw it: :class:`ExitReporter`); the nanny restarts the worker and
  the other tasks go on. The client keeps no
  more tasks in flight than the workers have threads, so a dying worker
  takes no innocent queued task with it.
- **threads.** Workers x threads per worker never exceed the cores the run
  was given; each worker process starts with ``OMP_NUM_THREADS`` (BLAS, numpy,
  torch) set to its thread count, and torch's pool is set again before each
  task (a remote worker's environment is not ours).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from distributed.comm import get_address_host
from distributed.diagnostics.plugin import NannyPlugin

__all__ = [
    "EngineSettings",
    "Task",
    "TaskFailure",
    "available_cores",
    "dask_client",
    "describe_exit",
    "engine_settings",
    "run_tasks",
    "worker_exit",
]

#: Topic of the events workers log when a task starts (the start of its timeout).
START_TOPIC = "deconv-bench-task-start"
#: Topic of the events nannies log when a worker process ends (how: a signal, an exit status, the memory limit).
EXIT_TOPIC = "deconv-bench-worker-exit"
#: Keys of the ``engine`` section of the run configuration (bench/conf/config.yaml).
_SETTINGS = frozenset({"workers", "threads", "cores", "scheduler", "memory_limit", "retries"})
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class EngineSettings:
    """How many local workers with how many threads each, or which scheduler; see :func:`engine_settings`."""

    workers: int
    threads: int
    scheduler: str | None = None
    memory_limit: str = "auto"
    retries: int = 1
    gpu: bool = False


@dataclass(frozen=True)
class Task:
    """One unit of work: ``function(*args)`` run on a worker, under ``timeout_s`` (None: no limit)."""

    key: str
    function: Callable[..., Mapping[str, Any]]
    args: tuple[Any, ...]
    timeout_s: float | None = None
    resources: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskFailure:
    """A task that returned nothing: ``timeout`` or ``crashed``, with what is known."""

    status: str
    error: str


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def engine_settings(config: Mapping[str, Any], *, gpu: bool = False) -> EngineSettings:
    """Validate the ``engine`` section of the run configuration.

    ``threads`` defaults to ``cores // workers``; ``workers x threads`` must
    not exceed ``cores`` (default: :func:`available_cores`), or the workers
    would fight over cores and every timing would be inflated.
    """
    unknown = sorted(set(config) - _SETTINGS)
    if unknown:
        raise ValueError(f"unknown engine setting(s) {unknown}; the engine's settings: {', '.join(sorted(_SETTINGS))}")
    workers, threads, cores = config.get("workers", 1), config.get("threads"), config.get("cores")
    for name, value in (("workers", workers), ("threads", threads), ("cores", cores)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"engine.{name} must be a whole number >= 1, got {value!r}")
    cores = cores or available_cores()
    retries = config.get("retries", 1)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"engine.retries must be a whole number >= 0, got {retries!r}")
    threads = threads or max(cores // workers, 1)
    if workers * threads > cores:
        raise ValueError(
            f"{workers} worker(s) x {threads} thread(s) = {workers * threads} exceeds the {cores} core(s) "
            "given to the run; lower --workers or --threads (or raise engine.cores)"
        )
    memory_limit = str(config.get("memory_limit", "auto"))
    if memory_limit != "auto":
        from dask.utils import parse_bytes

        try:
            size = parse_bytes(memory_limit)
        except ValueError:
            size = -1
        if size < 0:
            raise ValueError(
                f"engine.memory_limit must be auto, a size like 4GiB or 0 (no limit), got {memory_limit!r}"
            )
    scheduler = config.get("scheduler") or None
    if scheduler is not None:
        _check_address(str(scheduler))
    return EngineSettings(
        workers=workers, threads=threads, scheduler=scheduler, memory_limit=memory_limit,
        retries=retries, gpu=gpu,
    )  # fmt: skip


def _check_address(address: str) -> None:
    """Refuse a scheduler address Dask could not connect to: no protocol, no host or port, a port out of range."""
    from distributed.comm.addressing import parse_address, parse_host_port

    problem = f"--scheduler must be an address like tcp://host:8786, got {address!r}"
    if "://" not in address:
        raise ValueError(problem)
    protocol, location = parse_address(address)
    if protocol in ("tcp", "tls", "ws", "wss"):
        try:
            host, port = parse_host_port(location)
        except ValueError:
            raise ValueError(problem) from None
        if not host or not 0 < port < 65536:
            raise ValueError(problem)
    elif not location:
        raise ValueError(problem)


@contextlib.contextmanager
def dask_client(settings: EngineSettings) -> Iterator[Any]:
    """A connected ``distributed.Client``: to ``settings.scheduler``, or to a new local cluster closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    if settings.scheduler:
        try:
            client = Client(settings.scheduler, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise ValueError(
                f"cannot reach the Dask scheduler at {settings.scheduler} ({error}); "
                "start it (dask scheduler) or check the address"
            ) from None
        with client:
            client.register_plugin(ExitReporter())
            yield client
        return
    variables = {name: str(settings.threads) for name in _THREAD_VARIABLES}
    config = {
        "distributed.scheduler.allowed-failures": settings.retries,
        "distributed.scheduler.worker-saturation": 1.0,  # one task per worker thread, the rest queued on the scheduler
        "distributed.nanny.pre-spawn-environ": {**dask.config.get("distributed.nanny.pre-spawn-environ"), **variables},
    }
    with dask.config.set(config):
        cluster = LocalCluster(
            n_workers=settings.workers, threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.CRITICAL, memory_limit=settings.memory_limit,
            resources={"GPU": 1} if settings.gpu else None,
        )  # fmt: skip
        try:
            with Client(cluster) as client:
                client.register_plugin(ExitReporter())
                yield client
        finally:
            cluster.close()


def _watched(key: str, threads: int, function: Callable[..., Mapping[str, Any]], *args: Any) -> Mapping[str, Any]:
    """Worker side of a task: announce its start (its timeout counts from here), set the threads, run it."""
    from distributed import get_worker

    get_worker().log_event(START_TOPIC, {"key": key, "worker": get_worker().address, "pid": os.getpid()})
    try:
        import torch
    except ImportError:
        pass
    else:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return function(*args)


def describe_exit(exitcode: int) -> str:
    """A worker process's exit code in words; negative codes are signals (Python's ``multiprocessing`` convention).

    >>> describe_exit(-9)
    'killed by SIGKILL (often the out-of-memory killer, see `dmesg`, or a user: kill -9)'
    >>> describe_exit(3)
    'exited with status 3 (os._exit(3), or exit(3) in native code the method called)'
    """
    if exitcode >= 0:
        return f"exited with status {exitcode} (os._exit({exitcode}), or exit({exitcode}) in native code the method called)"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        return f"killed by signal {-exitcode}"
    return f"killed by {name} ({_SIGNAL_CAUSES.get(name) or signal.strsignal(-exitcode)})"


_SIGNAL_CAUSES = {
    "SIGSEGV": "segmentation fault: a crash in native code the method called",
    "SIGBUS": "bus error: a crash in native code the method called",
    "SIGABRT": "aborted by native code, for example a failed assertion in a C library",
    "SIGKILL": "often the out-of-memory killer, see `dmesg`, or a user: kill -9",
    "SIGTERM": "stopped by a user, the batch system or Dask",
}
#: What a nanny logs when its worker process ends (distributed.nanny) or outgrows its memory limit
#: (distributed.nanny.memory), and that in words.
_EXIT_LOGS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"Worker process (?P<pid>\d+) was killed by signal (?P<n>\d+)"), lambda m: describe_exit(-int(m["n"]))),
    (re.compile(r"Worker process (?P<pid>\d+) exited with status (?P<n>\d+)"), lambda m: describe_exit(int(m["n"]))),
    (re.compile(r"Worker process (?P<pid>\d+) was killed by unknown signal"), lambda m: "killed by an unknown signal"),
    (
        re.compile(r"\(pid=(?P<pid>\d+)\) exceeded (?P<n>\d+)% memory budget"),
        lambda m: f"stopped by Dask at {m['n']}% of its memory limit (engine.memory_limit; raise it or use less)",
    ),
)


class _ExitLog(logging.Handler):
    """Logging handler in a nanny's process: each end of a worker process it logs, as an :data:`EXIT_TOPIC` event."""

    def __init__(self, nanny: Any) -> None:
        super().__init__(logging.INFO)
        self.nanny = nanny

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for pattern, describe in _EXIT_LOGS:
            match = pattern.search(message)
            if match:
                host = get_address_host(self.nanny.address)
                self.nanny.log_event(EXIT_TOPIC, {"pid": int(match["pid"]), "host": host, "how": describe(match)})
                return


class ExitReporter(NannyPlugin):
    """Dask nanny plugin: reports how the nanny's worker processes end (:class:`_ExitLog`)."""

    name = "deconv-bench-exit-reporter"
    idempotent = True  # one per nanny, however many runs use the cluster

    def setup(self, nanny: Any) -> None:
        self.handler = _ExitLog(nanny)
        logging.getLogger("distributed.nanny").addHandler(self.handler)

    def teardown(self, nanny: Any) -> None:
        logging.getLogger("distributed.nanny").removeHandler(self.handler)


def worker_exit(client: Any, pid: int, host: str, *, wait_s: float = 5.0) -> str | None:
    """How worker process ``pid`` on ``host`` ended, in words, as its nanny reported it; None if it did not within ``wait_s``.

    A memory-limit stop is preferred to the exit status it caused (a SIGTERM).
    """
    deadline = time.monotonic() + wait_s
    while True:
        reports = [event for _, event in client.get_events(EXIT_TOPIC) if (event["pid"], event["host"]) == (pid, host)]
        if reports:
            return next((event["how"] for event in reports if "memory limit" in event["how"]), reports[-1]["how"])
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def _failure(client: Any, error: BaseException, start: tuple[float, float, str, int] | None) -> TaskFailure:
    """What is known of a task that raised out of Dask: its worker died (``crashed``, and how), or Dask failed."""
    from distributed import KilledWorker

    if not isinstance(error, KilledWorker):
        return TaskFailure("crashed", f"{type(error).__name__}: {error}")
    attempts = f"{error.allowed_failures + 1} attempt(s)"
    last = error.last_worker  # a quick crash may beat the task's start event
    pid, address = (start[3], start[2]) if start else (getattr(last, "pid", None), getattr(last, "address", None))
    how = worker_exit(client, pid, get_address_host(address)) if pid and address else None
    if how is None:
        return TaskFailure(
            "crashed",
            f"the worker process{f' {pid}' if pid else ''} died while running it (segfault, os._exit, out of memory "
            f"or killed; its nanny told no more); {attempts}",
        )
    return TaskFailure("crashed", f"worker process {pid} {how} while running it; {attempts}")


def run_tasks(
    client: Any, tasks: Sequence[Task], threads: int, *, poll_s: float = 0.2, log: Callable[[str], None] = print
) -> Iterator[tuple[Task, Mapping[str, Any] | TaskFailure]]:
    """Submit ``tasks`` and yield each with its result (or :class:`TaskFailure`) as it finishes.

    A task over its timeout is cancelled and its worker restarted; a task whose
    workers died more often than the cluster allows is ``crashed``. The
    results are yielded in the order they finish, in the caller's process:
    only the caller writes anything.
    """
    from distributed import wait

    waiting = list(reversed(tasks))  # submitted from the end: the first task first
    futures: dict[Any, Task] = {}
    by_key = {task.key: task for task in tasks}
    started: dict[str, tuple[float, float, str, int]] = {}  # key -> (event time, time seen here, worker, pid)
    while futures or waiting:
        # No more tasks in flight than worker threads, and the scheduler holds the rest (its queuing, one task
        # per thread): a worker that dies takes no innocent queued task with it. Tasks are not pinned to a
        # worker: a result lost with a dead worker must be recomputable on any other (a pinned one waited forever).
        capacity = max(sum(client.nthreads().values()), 1)
        while waiting and len(futures) < capacity:
            task = waiting.pop()
            future = client.submit(
                _watched, task.key, threads, task.function, *task.args, key=task.key, pure=False,
                resources=dict(task.resources) or None,
            )  # fmt: skip
            futures[future] = task
        try:
            wait(list(futures), timeout=poll_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            pass
        for event_time, message in client.get_events(START_TOPIC):
            key = message["key"]
            if key in by_key and (key not in started or started[key][0] < event_time):
                started[key] = (event_time, time.monotonic(), message["worker"], message["pid"])
        for future in [f for f in futures if f.done()]:
            task = futures.pop(future)
            if future.status == "finished":
                yield task, future.result()
            elif future.status == "error":
                yield task, _failure(client, future.exception(), started.get(task.key))
            future.release()
        now = time.monotonic()
        for future, task in list(futures.items()):
            if task.timeout_s is None or task.key not in started or now - started[task.key][1] <= task.timeout_s:
                continue
            worker = started[task.key][2]
            del futures[future]
            future.cancel()
            try:
                client.restart_workers([worker])
                note = "worker restarted"
            except Exception as error:  # a worker without a nanny cannot be restarted: say so, go on
                note = f"its worker could not be restarted ({type(error).__name__}: {error})"
                log(f"warning: task {task.key} timed out and {note}")
            yield task, TaskFailure("timeout", f"no result after {task.timeout_s:g} s (timeout_s); {note}")
