"""Weekly digests on PostgreSQL with a fixed clock: exactly once, late once, numbers right."""

from __future__ import annotations

import asyncio
import base64
import io
from datetime import date, datetime, timedelta

import matplotlib.image
from sqlalchemy import func, select

from bot.digests import due_week, opd_digest, ringkasan_command, send_digests
from handlers.outbox import OutboxWorker, Sender
from reports.build import build_report
from reports.digest import chart_data
from reports.model import ReportRequest
from storage import Storage, db
from storage.complaint_models import JobClaim
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from storage.models import OutboxMessage
from survey_flows.types import Channel, Inbound, InboundKind
from tests.support.digests import DUE, SETTINGS, WEEK_48, WIT, seed
from tests.support.dispatcher import RecordingSender


def outbox_for(senders: dict[str, Sender], storage: Storage, now: datetime) -> OutboxWorker:
    return OutboxWorker(storage, senders, lambda: now)


async def digest_rows(storage: Storage) -> list[tuple[int | None, str, str]]:
    async with storage.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.recipient_id, OutboxMessage.kind, OutboxMessage.status)
            .where(OutboxMessage.kind.in_(("digest", "digest_photo")))
            .order_by(OutboxMessage.id)
        )
        return [(r, k, s) for r, k, s in rows.all()]


async def test_two_schedulers_firing_the_same_week_queue_one_digest_per_recipient(
    pg_storage: Storage, pg_url: str
) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 12, "rsud-igd": 3})
    other = Storage(db.create_engine(pg_url))  # a second process on the same database
    try:
        results = await asyncio.gather(
            send_digests(pg_storage, outbox_for({}, pg_storage, DUE), SETTINGS, DUE),
            send_digests(other, outbox_for({}, other, DUE), SETTINGS, DUE),
        )
    finally:
        await other.dispose()
    statuses = sorted(o.status for outcomes in results for o in outcomes)
    assert statuses == ["already sent"] * 3 + ["queued"] * 3
    rows = await digest_rows(pg_storage)
    photos = [r for r, kind, _ in rows if kind == "digest_photo"]
    assert sorted(photos) == sorted(set(photos)) and len(photos) == 3  # one chart each
    async with pg_storage.sessions() as session:
        claims = await session.scalar(select(func.count()).select_from(JobClaim))
    assert claims == 3
    # Restarts fire the job again: nothing more is queued.
    again = await send_digests(pg_storage, outbox_for({}, pg_storage, DUE), SETTINGS, DUE)
    assert {o.status for o in again} == {"already sent"}
    assert len(await digest_rows(pg_storage)) == len(rows)


async def test_a_crash_between_claim_and_send_delivers_exactly_once_after_restart(
    pg_storage: Storage,
) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 12})
    # The first process claims and queues, then dies before sending anything.
    await send_digests(pg_storage, outbox_for({}, pg_storage, DUE), SETTINGS, DUE,
                       opd_code="disdukcapil")  # fmt: skip
    assert {status for _, _, status in await digest_rows(pg_storage)} == {"pending"}
    sender = RecordingSender("telegram")
    restarted = outbox_for({"telegram": sender}, pg_storage, DUE + timedelta(minutes=5))
    while await restarted.deliver("telegram"):
        pass
    await restarted.deliver("telegram")
    kinds = [m.kind for m in sender.sent]
    assert kinds.count("digest_photo") == 2  # two heads of Disdukcapil, one chart each
    assert len(sender.sent) == len(await digest_rows(pg_storage))
    assert {status for _, _, status in await digest_rows(pg_storage)} == {"sent"}


async def test_a_send_interrupted_by_a_crash_is_not_doubled(pg_storage: Storage) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 12})
    await send_digests(pg_storage, outbox_for({}, pg_storage, DUE), SETTINGS, DUE,
                       opd_code="disdukcapil")  # fmt: skip
    claimed = await pg_storage.claim_outbox("telegram", DUE)  # a sender took them...
    assert claimed
    # ... and the process died before confirming. After the lease, nothing is resent.
    sender = RecordingSender("telegram")
    later = outbox_for({"telegram": sender}, pg_storage, DUE + timedelta(minutes=10))
    await later.deliver("telegram")
    assert sender.sent == []
    async with pg_storage.sessions() as session:
        errors = (await session.execute(select(OutboxMessage.last_error))).scalars().all()
    assert all(e is not None and e.startswith("unconfirmed") for e in errors)


async def test_downtime_over_monday_sends_one_late_digest_that_says_so(
    pg_storage: Storage,
) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 12})
    tuesday = datetime(2026, 12, 1, 10, 0, tzinfo=WIT)  # back up a day late
    week, due = due_week(tuesday, SETTINGS)
    assert week.label == WEEK_48.label and due == DUE
    sender = RecordingSender("telegram")
    outcomes = await send_digests(pg_storage, outbox_for({"telegram": sender}, pg_storage,
                                                         tuesday), SETTINGS, tuesday)  # fmt: skip
    assert [o.status for o in outcomes].count("queued") == 3
    texts = [str(m.payload.get("text")) for m in sender.sent if m.kind == "digest"]
    assert any("terlambat" in t for t in texts) and any("late" in t for t in texts)
    wednesday = tuesday + timedelta(days=1)
    again = await send_digests(pg_storage, outbox_for({}, pg_storage, wednesday), SETTINGS,
                               wednesday)  # fmt: skip
    assert {o.status for o in again} == {"already sent"}


async def test_the_digest_and_its_chart_show_the_reports_numbers(pg_storage: Storage) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 14, "dukcapil-kantor": 4})
    await seed(pg_storage, {"dukcapil-mpp": 11}, week=date(2026, 11, 17))  # week 47
    digest = await opd_digest(pg_storage, "disdukcapil", WEEK_48, language="id",
                              settings=SETTINGS, now=DUE)  # fmt: skip
    report = await build_report(
        pg_storage, ReportRequest(period=WEEK_48, opd_codes=("disdukcapil",)),
        organisation=SETTINGS.organisation,
    )  # fmt: skip
    opd = report.opds[0]
    mpp = next(u for u in opd.units if u.code == "dukcapil-mpp")
    body = "\n".join(digest.parts)
    assert f"IKM {str(mpp.ikm).replace('.', ',')} ({mpp.mutu.value}" in body  # type: ignore[union-attr]
    assert "Responden: 18 (minggu lalu 11, +7)" in body
    assert "Kantor Disdukcapil: 4 responden, terlalu sedikit" in body  # no misleading grade
    assert "081234567890" not in body and "[disamarkan]" in body  # suggestions masked
    image = matplotlib.image.imread(io.BytesIO(digest.chart_png), format="png")
    assert digest.chart_png.startswith(b"\x89PNG") and image.shape[1] > image.shape[0] > 300
    data = chart_data(opd, [(WEEK_48, opd.ikm)], SETTINGS.min_respondents)
    assert data.units == (("Loket Disdukcapil MPP", mpp.ikm),)
    assert dict(data.elements) == {code: opd.nrr(code) for code in opd.elements}


async def test_an_empty_week_still_goes_out_short_with_the_poster_reminder(
    pg_storage: Storage,
) -> None:
    await seed(pg_storage, {})
    digest = await opd_digest(pg_storage, "rsud", WEEK_48, language="id", settings=SETTINGS,
                              now=DUE)  # fmt: skip
    assert digest.empty
    assert "skm-bot poster" in digest.parts[0] and len(digest.parts[0]) < 400


def test_long_digests_are_split_within_the_limit() -> None:
    from reports.digest import split_message

    body = "\n".join(f"• baris {n} " + "x" * 90 for n in range(200))
    parts = split_message(body, 4096)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == body


async def test_ringkasan_answers_registered_staff_only(pg_storage: Storage) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 12})
    command = ringkasan_command(pg_storage, SETTINGS, lambda: DUE)

    def ask(address: str, *args: str) -> Inbound:
        return Inbound(Channel.TELEGRAM, address, "e", InboundKind.COMMAND, DUE,
                       command="ringkasan", command_args=args)  # fmt: skip

    head = await command(ask("100000001"))
    assert [kind for kind, _ in head] == ["digest_photo", "digest"]
    assert "Ringkasan mingguan SKM" in str(head[1][1]["text"])
    stranger = await command(ask("999"))
    assert len(stranger) == 1 and "hanya untuk" in str(stranger[0][1]["text"])
    foreign_unit = await command(ask("100000001", "rsud-igd"))
    assert "hanya untuk" in str(foreign_unit[0][1]["text"])
    png = base64.b64decode(str(head[0][1]["png_base64"]))
    assert png.startswith(b"\x89PNG")


async def test_a_whatsapp_head_outside_the_window_gets_the_chart_then_the_text_on_reply(
    pg_storage: Storage,
) -> None:
    import aiohttp

    from handlers.whatsapp import GraphClient, Template, WhatsAppSender
    from tests.support.dispatcher import make_bot
    from tests.support.fakes.graph_api import FakeGraphApi

    whatsapp_head = (
        OpdSpec(
            code="rsud",
            name="RSUD Mimika",
            recipients=(RecipientSpec("head", "whatsapp", "6280000000009", "Direktur (contoh)"),),
            units=(UnitSpec("rsud-igd", "IGD RSUD Mimika", ("IGD",)),),
        ),
    )
    async with pg_storage.transaction() as tx:
        await apply_directory(tx, whatsapp_head, DUE)
    async with FakeGraphApi(access_token="t") as api, aiohttp.ClientSession() as http:
        api.approved_templates["skm_ringkasan"] = ("id",)
        client = GraphClient(http, access_token="t", phone_number_id=api.phone_number_id,
                             base_url=api.base_url)  # fmt: skip
        sender = WhatsAppSender(client, pg_storage, digest_template=Template("skm_ringkasan"),
                                clock=lambda: DUE)  # fmt: skip
        outbox = outbox_for({"whatsapp": sender}, pg_storage, DUE)
        await send_digests(pg_storage, outbox, SETTINGS, DUE)
        assert [m.type for m in api.sent] == ["template"]  # the chart, as the template
        # The head replies; the waiting text becomes due at once and goes out.
        bot = make_bot(pg_storage)
        reply = Inbound(Channel.WHATSAPP, "6280000000009", "wamid.head-1", InboundKind.TEXT,
                        DUE, text="ok")  # fmt: skip
        bot.clock.now = DUE
        await bot.dispatcher.handle(reply)
        await outbox.deliver("whatsapp")
    texts = [m.text for m in api.sent if m.type == "text"]
    assert any(t.startswith("Ringkasan mingguan SKM: RSUD Mimika") for t in texts)
