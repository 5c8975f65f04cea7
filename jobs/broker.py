"""The dramatiq broker: Redis when REDIS_URL is set, otherwise in-process.

Actors are declared at import on whatever broker is current; `setup` rebinds
them, so the app and the tests can choose the broker after import.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from domain.settings import Settings


class InProcessBroker(StubBroker):
    """The in-memory broker, with delayed messages that don't starve each other.

    StubBroker lists its delay queues ("mail.DQ") among its ordinary queues, so a Worker
    started after the actors are declared consumes "mail.DQ" with the small prefetch of
    an ordinary queue (2 × threads) instead of the delay prefetch (1000 × threads): four
    order recaps waiting their 3 minutes then held back every other delayed message,
    dramatiq's retry backoffs included.
    """

    def get_declared_queues(self) -> set[str]:
        return super().get_declared_queues() - self.get_declared_delay_queues()


_settings: Settings | None = None
# The one in-memory broker of this process (see `setup`).
_in_process: InProcessBroker | None = None

if not isinstance(getattr(dramatiq.broker, "global_broker", None), dramatiq.Broker):
    dramatiq.set_broker(InProcessBroker())


class SharedAsyncIO(AsyncIO):
    """dramatiq's AsyncIO middleware keeps its event loop thread in a process global, and
    each worker that stops stops it, even while another worker of the process still runs
    async actors on it (a second app object in the same process, as in the tests). This
    one starts the loop with the first worker and stops it with the last.

    Its thread is a daemon: a process that exits without stopping its workers (a second
    signal, an error at shutdown) must not wait for it forever, as dramatiq's does."""

    _lock = threading.Lock()
    _workers = 0

    def before_worker_boot(self, broker, worker):
        with SharedAsyncIO._lock:
            if get_event_loop_thread() is None:
                loop_thread = EventLoopThread(self.logger)
                loop_thread.daemon = True
                loop_thread.start(timeout=1.0)
                set_event_loop_thread(loop_thread)
            SharedAsyncIO._workers += 1

    def after_worker_shutdown(self, broker, worker):
        with SharedAsyncIO._lock:
            SharedAsyncIO._workers = max(SharedAsyncIO._workers - 1, 0)
            if SharedAsyncIO._workers == 0 and get_event_loop_thread() is not None:
                super().after_worker_shutdown(broker, worker)


class DatabasePool(dramatiq.Middleware):
    """In a worker process of its own (`dramatiq jobs.worker`), a PostgreSQL connection
    pool on the event loop that runs the async actors: without it every query opens a
    connection. (The web process's in-process worker uses the app's engine as it is.)"""

    def after_worker_boot(self, broker, worker):
        from domain import database

        get_event_loop_thread().run_coroutine(database.start_pool())

    def before_worker_shutdown(self, broker, worker):
        from domain import database

        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(database.close_pool())


def setup(settings: Settings, *, worker_process: bool = False) -> dramatiq.Broker:
    """`worker_process`: this process is a `dramatiq jobs.worker` process."""
    global _settings, _in_process
    _settings = settings
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker

        # Timeouts: a Redis that hangs must not hang the thread that enqueues.
        broker: dramatiq.Broker = RedisBroker(
            url=settings.redis_url, socket_timeout=5, socket_connect_timeout=2
        )
    else:
        # One in-memory queue per process: a second app object (or a test putting the
        # broker back) gets the same broker, instead of taking the actors away from the
        # worker that consumes the first one.
        if _in_process is None:
            _in_process = InProcessBroker()
            _in_process.emit_after("process_boot")
        broker = _in_process
    broker = use(broker)
    if worker_process and not any(isinstance(m, DatabasePool) for m in broker.middleware):
        broker.add_middleware(DatabasePool())
    return broker


def use(broker: dramatiq.Broker) -> dramatiq.Broker:
    """Make `broker` the global one and move the declared actors onto it.

    Also how a test puts back the broker it found after switching to another one.
    """
    if not any(isinstance(m, AsyncIO) for m in broker.middleware):
        broker.add_middleware(SharedAsyncIO())
    old = dramatiq.get_broker()
    dramatiq.set_broker(broker)
    if old is not broker:
        for name in old.get_declared_actors():
            actor = old.get_actor(name)
            actor.broker = broker
            if name not in broker.get_declared_actors():
                broker.declare_actor(actor)
    return broker


def settings() -> Settings:
    global _settings
    if _settings is None:
        from domain.settings import load_settings

        _settings = load_settings()
    return _settings


def is_in_process() -> bool:
    return isinstance(dramatiq.get_broker(), StubBroker)
