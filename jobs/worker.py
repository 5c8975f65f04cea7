"""Entry point of the worker process: `dramatiq jobs.worker`."""

import logging
import signal

from domain.settings import load_settings
from jobs import broker

_settings = load_settings()
_broker = broker.setup(_settings, worker_process=True)
for _warning in _settings.mail_warnings():
    logging.getLogger("jobs.worker").warning("e-mails : %s", _warning)

from jobs import (  # noqa: E402, F401  (actors are declared on the broker set above)
    escarcelle,
    mail,
)

_broker.add_middleware(mail.SweepAtBoot())


def _stop_once() -> None:
    """A platform stopping the worker sends SIGTERM to each of its processes, and
    dramatiq's main process passes it on to its worker process: the worker process gets
    it twice, and dramatiq takes a second one for "exit now", in the middle of the sends
    it was finishing. Here only the first stop signal is dramatiq's; SIGKILL still
    kills. (Imported in the worker process, after dramatiq set its handlers.)"""
    log = logging.getLogger("jobs.worker")
    stopping = False

    def wrap(handler):
        def once(signum, frame):
            nonlocal stopping
            if stopping:
                log.info("arrêt déjà en cours : signal %s ignoré", signal.Signals(signum).name)
                return
            stopping = True
            handler(signum, frame)

        return once

    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and callable(handler := signal.getsignal(signum)):
            signal.signal(signum, wrap(handler))


_stop_once()
