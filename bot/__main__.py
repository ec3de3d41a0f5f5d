"""``python -m bot`` is ``skm-bot``."""

from bot.cli import main

raise SystemExit(main())
