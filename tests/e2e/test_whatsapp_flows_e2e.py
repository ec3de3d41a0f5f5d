"""The SKM as a WhatsApp Flow, end to end: `skm-bot whatsapp flow publish` against the fake
Graph API, then `run_service` with signed webhooks: one Flow message (the consent inside) in
answer to the QR code's text, one ``nfm_reply`` that stores the response exactly as the chat
would, the refusals, the fallbacks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import cli_whatsapp
from bot.cli import build_parser
from bot.settings import Settings
from bot.whatsapp_flows import flows_in_use
from handlers.whatsapp.graph import GraphClient
from storage import Storage
from storage.models import Contact, ResponseScore, SurveyResponse
from storage.whatsapp_flows import stored_flows
from survey_flows.catalog import MESSAGES
from survey_flows.engine import FlowSettings
from tests.support.directory import load_small_directory
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, SentMessage
from tests.support.whatsapp_service import TOKEN, Service, service_settings

ID = MESSAGES["id"]
MARIA = Citizen()
KELLY = Citizen(user_id="ID.5512093384410076", wa_id="6281299990000", name="Kelly")
UNIT = "dukcapil-kantor"  # one service type: the Flow holds the whole questionnaire
ANSWERS: dict[str, Any] = {
    "U1": "4",
    "U2": "3",
    "U3": "2",
    "U4": "4",
    "U5": "3",
    "U6": "3",
    "U7": "4",
    "U9": "1",
    "U8": "4",
    "age": "26-35",
    "gender": "P",
    "occupation": "WIRAUSAHA",
    "suggestion": "Antrean mohon dipercepat.",
}
# The same answers through the chat: profile, the nine in the order asked, the suggestion.
CHAT_CHOICES = ["26-35", "P", "skip", "WIRAUSAHA", "4", "3", "2", "4", "3", "3", "4", "1", "4"]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(access_token=TOKEN) as fake:
        yield fake


def flow_settings(api: FakeGraphApi, pg_url: str, **extra: Any) -> Settings:
    return service_settings(
        api, pg_url, whatsapp_business_account_id=api.business_account_id, **extra
    )


async def cli(settings: Settings, *argv: str) -> int:
    args = build_parser().parse_args(["whatsapp", "flow", *argv])
    result = await cli_whatsapp.dispatch(args, settings)
    assert result is not None
    return result


@pytest_asyncio.fixture
async def published(api: FakeGraphApi, pg_storage: Storage, pg_url: str) -> Settings:
    await load_small_directory(pg_storage)
    settings = flow_settings(api, pg_url)
    assert await cli(settings, "publish") == 0
    return settings


async def start_survey(service: Service, citizen: Citizen) -> SentMessage:
    """The QR code's text; with a published Flow its message (the consent notice inside)
    comes straight back, else the chat's consent is tapped and the first question comes."""
    first = await service.say(citizen, citizen.text(f"SKM {UNIT}"))
    assert "Sebelum mulai" in first.text
    if first.interactive.get("type") == "flow":
        return first
    return await service.tap(citizen, "yes")


async def response_rows(storage: Storage) -> list[tuple[Any, ...]]:
    """Every stored response as the rows a report reads, without ids, keys and times."""
    async with storage.sessions() as session:
        responses = (await session.execute(select(SurveyResponse))).scalars().all()
        rows = []
        for response in responses:
            scores = (
                await session.execute(
                    select(ResponseScore.element_code, ResponseScore.score)
                    .where(ResponseScore.response_id == response.id)
                    .order_by(ResponseScore.element_code)
                )
            ).all()
            rows.append(
                (
                    response.unit_id,
                    response.service_type,
                    response.channel,
                    response.source,
                    response.language,
                    json.dumps(response.profile, sort_keys=True),
                    response.suggestion,
                    tuple(tuple(s) for s in scores),
                )
            )
        return rows


# --- publishing --------------------------------------------------------------------------------


async def test_publish_creates_uploads_and_publishes_each_language_once(
    api: FakeGraphApi, pg_storage: Storage, published: Settings
) -> None:
    stored = await stored_flows(pg_storage)
    assert set(stored) == {"id", "en"}
    for flow in stored.values():
        fake = api.flows[flow.flow_id]
        assert fake.status == "PUBLISHED" and fake.categories == ["SURVEY"]
        assert fake.flow_json is not None and fake.flow_json["version"].startswith("7.")
    calls = len(api.calls)
    assert await cli(published, "publish") == 0  # unchanged: nothing sent to Meta
    assert len(api.calls) == calls
    assert await cli(published, "status") == 0
    choice = await flows_in_use(published, pg_storage)
    assert choice.ids == {k: v.flow_id for k, v in stored.items()} and not choice.stale


async def test_a_questionnaire_change_makes_the_flow_stale_and_publish_makes_a_new_one(
    api: FakeGraphApi, pg_storage: Storage, pg_url: str, published: Settings
) -> None:
    before = await stored_flows(pg_storage)
    changed = flow_settings(api, pg_url, suggestion_max_chars=300)  # the text area's limit
    choice = await flows_in_use(changed, pg_storage)
    assert choice.ids == {} and set(choice.stale) == {"id", "en"}
    assert await cli(changed, "publish") == 0
    after = await stored_flows(pg_storage)
    assert all(after[k].flow_id != before[k].flow_id for k in after)  # published: not edited
    assert (await flows_in_use(changed, pg_storage)).ids == {k: v.flow_id for k, v in after.items()}


async def test_publish_needs_the_business_account(api: FakeGraphApi, pg_url: str) -> None:
    from bot.settings import ConfigError

    with pytest.raises(ConfigError, match="WHATSAPP_BUSINESS_ACCOUNT_ID"):
        await cli(service_settings(api, pg_url), "publish")


# --- the survey through the Flow -------------------------------------------------------------


async def test_one_flow_reply_stores_the_same_rows_as_the_chat(
    api: FakeGraphApi, pg_storage: Storage, published: Settings
) -> None:
    async with Service(published, api) as service:
        sent = len(api.sent)
        offer = await start_survey(service, MARIA)
        assert offer.interactive["type"] == "flow"
        assert offer.interactive["action"]["parameters"]["flow_cta"] == "Isi survei"
        # The QR code's text gets the Flow at once; its message carries the consent notice.
        assert len(api.sent) == sent + 1
        assert ID["form.consent.how"] in offer.text and "ketik HAPUS" in offer.text
        thanks = await service.say(
            MARIA, MARIA.flow_reply(offer, api.complete_flow(offer, ANSWERS))
        )
        assert thanks.text.startswith(ID["thanks"].format(unit="Kantor Disdukcapil"))
        assert len(api.sent) == sent + 2  # the Flow, the thank-you: nothing else
        async with pg_storage.sessions() as session:
            consents = (await session.execute(select(Contact.consent_version))).scalars().all()
        assert consents == [FlowSettings().consent_notice_version]  # sending the form agreed
        # Kelly's client cannot take the Flow: Meta refuses it and the chat question goes.
        api.fail_next(131009)
        consent = await service.say(KELLY, KELLY.text(f"SKM {UNIT}"))
        assert "Sebelum mulai" in consent.text and consent.replies()[0]["title"] == "Setuju"
        api.fail_next(131009)
        question = await service.tap(KELLY, "yes")
        assert question.text.split("\n")[1] == ID["profile.age.prompt"]
        for choice in CHAT_CHOICES:
            await service.tap(KELLY, choice)
        await service.say(KELLY, KELLY.text(ANSWERS["suggestion"]))
        await service.tap(KELLY, "submit")
    by_flow, by_chat = await response_rows(pg_storage)
    assert by_flow == by_chat
    [stored, _] = await pg_storage.responses()
    assert stored.scores == {k: int(v) for k, v in ANSWERS.items() if k.startswith("U")}


async def test_a_unit_with_several_service_types_asks_it_in_the_flow(
    api: FakeGraphApi, pg_storage: Storage, published: Settings
) -> None:
    async with Service(published, api) as service:
        offer = await service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
        data = offer.interactive["action"]["parameters"]["flow_action_payload"]["data"]
        assert data["ask_service"] is True
        kk = next(o["id"] for o in data["service_types"] if o["title"] == "Kartu Keluarga")
        answers = {k: v for k, v in ANSWERS.items() if k.startswith("U")}  # profile left empty
        reply = api.complete_flow(offer, {**answers, "service": kk})
        thanks = await service.say(MARIA, MARIA.flow_reply(offer, reply))
        assert thanks.text.startswith("Terima kasih!")
    [response] = await pg_storage.responses()
    assert response.service_type == "Kartu Keluarga" and response.profile == {}


async def test_missing_items_continue_in_chat(
    api: FakeGraphApi, pg_storage: Storage, published: Settings
) -> None:
    async with Service(published, api) as service:
        offer = await start_survey(service, MARIA)
        fields = json.loads(api.complete_flow(offer, ANSWERS))
        fields["U3"] = "7"  # out of range: asked again in the chat, nothing else
        reply = await service.say(MARIA, MARIA.flow_reply(offer, json.dumps(fields)), replies=2)
        assert ID["question.U3"] in reply.text
        summary = await service.tap(MARIA, "2")
        assert "Ringkasan" in summary.text
        await service.tap(MARIA, "submit")
    [response] = await pg_storage.responses()
    assert response.scores["U3"] == 2 and response.scores["U1"] == 4


@pytest.mark.parametrize(
    "response_json",
    [
        "not json",
        "[1, 2]",
        "[" * 5000 + "]" * 5000,
        json.dumps({"flow_token": "x", "U1": {"nested": 1}}),
    ],
    ids=["not-json", "not-an-object", "too-deep-and-large", "nested"],
)
async def test_unreadable_flow_replies_are_refused_politely(
    api: FakeGraphApi, pg_storage: Storage, published: Settings, response_json: str
) -> None:
    async with Service(published, api) as service:
        offer = await start_survey(service, MARIA)
        reply = await service.say(MARIA, MARIA.flow_reply(offer, response_json), replies=2)
    texts = [m.text for m in api.messages_to(MARIA.reply_address)[-2:]]
    assert texts[0] in {ID["form.refused"], ID["form.stale"]}
    assert "Sebelum mulai" in reply.text  # the chat goes on: the consent, as a question
    assert [r["title"] for r in reply.replies()] == ["Setuju", "Tidak setuju", "Batal"]
    assert await pg_storage.responses() == []


async def test_forged_foreign_and_repeated_tokens_change_nothing(
    api: FakeGraphApi, pg_storage: Storage, published: Settings
) -> None:
    async with Service(published, api) as service:
        offer = await start_survey(service, MARIA)
        kelly_offer = await start_survey(service, KELLY)
        good = api.complete_flow(offer, ANSWERS)
        forged = json.dumps({**json.loads(good), "flow_token": "skm|1|dukcapil-kantor|guess"})
        refused = await service.say(MARIA, MARIA.flow_reply(offer, forged), replies=2)
        assert "Sebelum mulai" in refused.text  # the consent, asked again in the chat
        assert api.messages_to(MARIA.reply_address)[-2].text == ID["form.stale"]
        # Kelly's form, sent by Maria: another contact's token.
        foreign = api.complete_flow(kelly_offer, ANSWERS)
        await service.say(MARIA, MARIA.flow_reply(offer, foreign), replies=2)
        assert await pg_storage.responses() == []
        payload = MARIA.flow_reply(offer, good)
        await service.say(MARIA, payload)
        # Meta's redelivery of the same webhook: nothing at all; a second reply: refused.
        sent = len(api.sent)
        assert await service.post(MARIA.same_message_again(payload)) == 200
        again = await service.say(MARIA, MARIA.flow_reply(offer, good))
        assert again.text == ID["form.stale"]
        assert len(api.sent) == sent + 1
    assert len(await pg_storage.responses()) == 1


async def test_without_a_published_flow_the_chat_asks(
    api: FakeGraphApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    async with Service(service_settings(api, pg_url), api) as service:
        question = await start_survey(service, MARIA)
    assert question.interactive["type"] in {"list", "button"}
    assert question.text.split("\n")[1] == ID["profile.age.prompt"]


async def test_an_unknown_configured_flow_falls_back_to_the_chat(
    api: FakeGraphApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    settings = service_settings(api, pg_url, whatsapp_flow_id="424242")
    async with Service(settings, api) as service:
        question = await start_survey(service, MARIA)
    assert question.text.split("\n")[1] == ID["profile.age.prompt"]
    refused = [c for c in api.message_calls() if c.status == 400]
    assert refused and refused[0].body is not None
    assert refused[0].body["interactive"]["type"] == "flow"


async def test_graph_client_reads_a_flows_status(api: FakeGraphApi, published: Settings) -> None:
    async with aiohttp.ClientSession() as session:
        client = GraphClient(
            session, access_token=TOKEN, phone_number_id=api.phone_number_id, base_url=api.base_url
        )
        [flow_id, *_] = api.flows
        info = await client.flow_info(flow_id)
    assert info["status"] == "PUBLISHED"
