"""The questionnaire's WhatsApp Flows: publishing them, their status, and which to use.

``skm-bot whatsapp flow publish`` generates the Flow JSON of each language from the
questionnaire (``survey_flows.form``), creates a Flow on the business account (or reuses the
draft left by an interrupted run), uploads the JSON, publishes it and stores its id with the
JSON's hash. A published Flow cannot be edited: when the questionnaire's wording changes the
hash differs, the stored Flow is *stale* (``run`` says so at start and asks in the chat
instead), and the next publish creates a new Flow.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.settings import Settings
from handlers.whatsapp.flow import flow_json_bytes
from handlers.whatsapp.graph import GraphClient
from storage import Storage
from storage.whatsapp_flows import StoredFlow, save_flow, stored_flows
from survey_flows.catalog import LANGUAGES
from survey_flows.form import form_definition

log = logging.getLogger(__name__)

FLOW_CATEGORIES = ["SURVEY"]
PUBLISHED = "PUBLISHED"
DRAFT = "DRAFT"


def current_flow_json(settings: Settings, language: str) -> bytes:
    """The Flow JSON the questionnaire gives today, in ``language``."""
    definition = form_definition(language, suggestion_max=settings.suggestion_max_chars)
    return flow_json_bytes(definition)


def json_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class FlowChoice:
    """Which Flow each language uses, and the stale ones left out."""

    ids: dict[str, str]
    stale: tuple[str, ...]


async def flows_in_use(settings: Settings, storage: Storage) -> FlowChoice:
    """Language -> Flow id: ``WHATSAPP_FLOW_ID`` / ``WHATSAPP_FLOW_ID_EN`` when set, else a
    stored published Flow whose JSON is still the questionnaire's. Stale ones are named."""
    configured = {"id": settings.whatsapp_flow_id, "en": settings.whatsapp_flow_id_en}
    stored = await stored_flows(storage)
    ids: dict[str, str] = {}
    stale: list[str] = []
    for language in LANGUAGES:
        if configured[language]:
            ids[language] = str(configured[language])
            continue
        flow = stored.get(language)
        if flow is None or flow.status != PUBLISHED:
            continue
        if flow.json_sha256 != json_hash(current_flow_json(settings, language)):
            stale.append(language)
            continue
        ids[language] = flow.flow_id
    return FlowChoice(ids, tuple(stale))


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    language: str
    flow_id: str | None
    action: str  # "unchanged", "published", "invalid"
    errors: tuple[str, ...] = ()


async def publish_flows(
    client: GraphClient,
    storage: Storage,
    settings: Settings,
    business_account_id: str,
    now: datetime,
) -> list[PublishOutcome]:
    """Create or update, upload and publish each language's Flow whose JSON changed."""
    stored = await stored_flows(storage)
    outcomes: list[PublishOutcome] = []
    for language in LANGUAGES:
        data = current_flow_json(settings, language)
        digest = json_hash(data)
        known = stored.get(language)
        if known is not None and known.status == PUBLISHED and known.json_sha256 == digest:
            outcomes.append(PublishOutcome(language, known.flow_id, "unchanged"))
            continue
        # A draft (an earlier run stopped before publishing) is updated; a published Flow
        # cannot be, so a changed questionnaire gets a new one (names are unique per account).
        flow_id = known.flow_id if known is not None and known.status == DRAFT else None
        if flow_id is None:
            name = f"SKM {language} {digest[:10]}"
            flow_id = await client.create_flow(business_account_id, name, FLOW_CATEGORIES)
            await save_flow(storage, StoredFlow(language, flow_id, digest, DRAFT, now))
        errors = await client.upload_flow_json(flow_id, data)
        if errors:
            messages = tuple(str(e.get("message") or e.get("error") or e) for e in errors)
            outcomes.append(PublishOutcome(language, flow_id, "invalid", messages))
            continue
        await client.publish_flow(flow_id)
        await save_flow(storage, StoredFlow(language, flow_id, digest, PUBLISHED, now))
        log.info("WhatsApp Flow published", extra={"language": language, "flow_id": flow_id})
        outcomes.append(PublishOutcome(language, flow_id, "published"))
    return outcomes
