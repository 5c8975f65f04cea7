"""Entry point of the worker process: `dramatiq jobs.worker`."""

from domain.settings import load_settings
from jobs import broker

broker.setup(load_settings(), worker_process=True)

from jobs import mail  # noqa: E402,F401  (actors are declared on the broker set above)
