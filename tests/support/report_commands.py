"""Running the report commands in process."""

from __future__ import annotations

import argparse

from bot.cli_reports import dispatch, register
from bot.settings import Settings


async def run(argv: list[str], settings: Settings) -> int | None:
    parser = argparse.ArgumentParser(prog="skm-bot")
    register(parser.add_subparsers(dest="command", required=True))
    return await dispatch(parser.parse_args(argv), settings)
