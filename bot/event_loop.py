"""The service's event loop: uvloop (libuv) by default, the standard one by setting.

uvloop runs the same asyncio code with a cheaper loop and socket layer (see
docs/performance.md, "Levers measured (issue 18)"). ``EVENT_LOOP=asyncio`` turns it off; a
platform without uvloop (it has no Windows build) gets the standard loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
EventLoopName = Literal["uvloop", "asyncio"]


def loop_factory(name: EventLoopName) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of a new loop of kind ``name``; None for the standard one."""
    if name == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:  # no build for this platform: the standard loop does the same work
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], name: EventLoopName) -> T:
    """``asyncio.run(main)`` on a loop of kind ``name``."""
    with asyncio.Runner(loop_factory=loop_factory(name)) as runner:
        return runner.run(main)
