"""The web console (issue 16): a platform adapter like Telegram and WhatsApp.

Requests become storage and report reads, and pages rendered from templates (Jinja2 through
aiohttp-jinja2). Pure rules (roles, permissions, tokens) live in ``survey_flows.web_access``,
texts in ``survey_flows.web_catalog``, SQL in ``storage.web``. docs/web.md explains it.
"""

from handlers.web.app import build_console, mount
from handlers.web.chat import masuk_command
from handlers.web.core import Area, ConsoleConfig, PageContext, Refused

__all__ = ["Area", "ConsoleConfig", "PageContext", "Refused", "build_console", "masuk_command",
           "mount"]  # fmt: skip
