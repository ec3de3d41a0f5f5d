"""The console pages' configuration."""

from __future__ import annotations

from handlers.web import ConsoleConfig
from tests.support.dispatcher import T0

CONFIG = ConsoleConfig(secret=b"s" * 32, clock=lambda: T0)
