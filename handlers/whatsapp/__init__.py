"""The WhatsApp channel on Meta's Cloud API (Graph API), with our own aiohttp client.

- :mod:`~handlers.whatsapp.parse`: the webhook's signature and challenge; payloads to
  channel-neutral :class:`Inbound` events and delivery reports (phone/BSUID identity).
- :mod:`~handlers.whatsapp.render`: an :class:`Outbound` as text, reply buttons or (paged) lists.
- :mod:`~handlers.whatsapp.graph`: the Graph API client, its errors, the start-up check.
- :mod:`~handlers.whatsapp.sender`: outbox rows out, within the rate limits and the 24-hour
  window (templates), weekly digests with their chart.
- :mod:`~handlers.whatsapp.webhook`: a verified payload's events to the dispatcher or storage.

State stays in our database, like every channel (docs/whatsapp.md).
"""

from handlers.whatsapp.graph import (
    ERROR_CLASSES,
    AccessTokenInvalid,
    GraphClient,
    GraphError,
    GraphRateLimited,
    GraphServerError,
    GraphUnavailable,
    PairRateLimited,
    ReEngagementRequired,
    SpamRateLimited,
    TemplateRejected,
    ThroughputReached,
    Undeliverable,
    WhatsAppRejected,
    check_credentials,
    graph_error,
    media_fetcher,
    recipient_fields,
)
from handlers.whatsapp.parse import (
    CHANNEL,
    SIGNATURE_HEADER,
    Event,
    Ignored,
    StatusReport,
    challenge_answer,
    parse_message,
    parse_payload,
    parse_reply_id,
    parse_status,
    sign,
    signature_valid,
)
from handlers.whatsapp.render import (
    BODY_MAX,
    BUTTON_TITLE_MAX,
    ROW_TITLE_MAX,
    clip,
    compose_body,
    cut,
    page_id,
    render,
    reply_id,
    text_message,
    unique_titles,
    width,
)
from handlers.whatsapp.sender import (
    CUSTOMER_SERVICE_WINDOW,
    ContactWindows,
    Template,
    WhatsAppSender,
    template_message,
    whatsapp_limiter,
)
from handlers.whatsapp.webhook import ProcessReport, WhatsAppUpdates

__all__ = [
    "BODY_MAX",
    "BUTTON_TITLE_MAX",
    "CHANNEL",
    "CUSTOMER_SERVICE_WINDOW",
    "ERROR_CLASSES",
    "ROW_TITLE_MAX",
    "SIGNATURE_HEADER",
    "AccessTokenInvalid",
    "ContactWindows",
    "Event",
    "GraphClient",
    "GraphError",
    "GraphRateLimited",
    "GraphServerError",
    "GraphUnavailable",
    "Ignored",
    "PairRateLimited",
    "ProcessReport",
    "ReEngagementRequired",
    "SpamRateLimited",
    "StatusReport",
    "Template",
    "TemplateRejected",
    "ThroughputReached",
    "Undeliverable",
    "WhatsAppRejected",
    "WhatsAppSender",
    "WhatsAppUpdates",
    "challenge_answer",
    "check_credentials",
    "clip",
    "compose_body",
    "cut",
    "graph_error",
    "media_fetcher",
    "page_id",
    "parse_message",
    "parse_payload",
    "parse_reply_id",
    "parse_status",
    "recipient_fields",
    "render",
    "reply_id",
    "sign",
    "signature_valid",
    "template_message",
    "text_message",
    "unique_titles",
    "whatsapp_limiter",
    "width",
]
