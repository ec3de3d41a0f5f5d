"""EVENT_LOOP: `skm-bot run` serves on uvloop by default, on the standard loop when asked."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot import event_loop
from bot.settings import load_settings


async def running_loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_by_default_and_the_standard_loop_by_setting() -> None:
    assert load_settings().event_loop == "uvloop"
    assert event_loop.run(running_loop_module(), "uvloop").startswith("uvloop")
    assert event_loop.run(running_loop_module(), "asyncio").startswith("asyncio")


def test_without_uvloop_the_standard_loop_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows
    assert event_loop.loop_factory("uvloop") is None
    assert event_loop.run(running_loop_module(), "uvloop").startswith("asyncio")
