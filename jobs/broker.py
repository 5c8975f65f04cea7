"""The dramatiq broker: Redis when REDIS_URL is set, otherwise in-process.

Actors are declared at import on whatever broker is current; `setup` rebinds
them, so the app and the tests can choose the broker after import.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from domain.settings import Settings

_settings: Settings | None = None

if not isinstance(getattr(dramatiq.broker, "global_broker", None), dramatiq.Broker):
    dramatiq.set_broker(StubBroker())


def setup(settings: Settings) -> dramatiq.Broker:
    global _settings
    _settings = settings
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(url=settings.redis_url)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    if not any(isinstance(m, AsyncIO) for m in broker.middleware):
        broker.add_middleware(AsyncIO())
    old = dramatiq.get_broker()
    dramatiq.set_broker(broker)
    for name in old.get_declared_actors():
        actor = old.get_actor(name)
        actor.broker = broker
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
