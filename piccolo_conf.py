"""Piccolo's entry point: the engine comes from DATABASE_URL (SQLite file by default)."""

from piccolo.conf.apps import AppRegistry

from domain.database import engine_for_url
from domain.settings import database_url

DB = engine_for_url(database_url())

APP_REGISTRY = AppRegistry(apps=["domain.piccolo_app"])
