"""The complaint desk and the directory editor on SQLite and the console channel (the
README's first command): an officer registered on the console verifies on the web (the
citizen's notice is queued), and an admin edits a unit."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.directory_file import check_directory
from handlers.web import ConsoleConfig, build_console
from handlers.web.desk import DESK_KEY, DeskServices
from handlers.web.directory import DIRECTORY_CHECK
from storage import Storage
from storage.complaints import complaint_events
from storage.directory import add_recipient, deactivate_recipient
from storage.directory_import import current_directory
from storage.models import OutboxMessage, Recipient
from storage.web import ensure_admin, start_session
from survey_flows.web_access import PrincipalKind, new_token, sign, token_digest
from tests.support.desk import file
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0, make_bot

SECRET = b"sqlite-desk-tests-secret"
CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')


async def test_an_officer_on_the_console_channel_verifies_on_the_web(
    sqlite_storage: Storage,
) -> None:
    await load_small_directory(sqlite_storage)
    async with sqlite_storage.transaction() as tx:
        await add_recipient(tx, opd_code="disdukcapil", role="officer", channel="console",
                            address="petugas", name="Petugas Konsol", language="id")  # fmt: skip
    [ticket] = await file(sqlite_storage, 1)
    bot = make_bot(sqlite_storage)  # the same dispatcher services the service hands over

    token = new_token()
    async with sqlite_storage.transaction() as tx:
        officer = await tx.session.scalar(
            select(Recipient.id).where(Recipient.address == "petugas")
        )
        assert officer is not None
        await start_session(tx, token_digest(token), PrincipalKind.RECIPIENT.value, officer, T0)
    dispatcher = bot.dispatcher
    console = build_console(sqlite_storage, ConsoleConfig(secret=SECRET, clock=lambda: T0))
    console[DESK_KEY] = DeskServices(dispatcher.flow_settings, dispatcher.calendar,
                                     dispatcher.outbox.wake)  # fmt: skip
    console[DIRECTORY_CHECK] = check_directory
    async with TestClient(TestServer(console)) as client:
        client.session.cookie_jar.update_cookies({"skm_sesi": sign(SECRET, token)})
        listing = await client.get("/opd/disdukcapil/pengaduan")
        assert listing.status == 200 and ticket in await listing.text()
        page = await client.get(f"/opd/disdukcapil/pengaduan/{ticket}")
        found = CSRF.search(await page.text())
        assert found is not None
        done = await client.post(f"/opd/disdukcapil/pengaduan/{ticket}",
                                 data={"_csrf": found[1], "action": "verify"},
                                 allow_redirects=False)  # fmt: skip
        assert done.status == 303
        assert (await client.get("/direktori")).status == 403  # an officer: not theirs

        # An admin edits a unit: the directory is read and re-applied on SQLite too.
        admin_token = new_token()
        async with sqlite_storage.transaction() as tx:
            admin, _ = await ensure_admin(tx, "Admin", T0)
            await start_session(tx, token_digest(admin_token), "admin", admin, T0)
        client.session.cookie_jar.update_cookies({"skm_sesi": sign(SECRET, admin_token)})
        form = await client.get("/direktori/unit/dukcapil-kantor")
        found = CSRF.search(await form.text())
        assert found is not None
        saved = await client.post("/direktori/unit/dukcapil-kantor", allow_redirects=False,
                                  data={"_csrf": found[1], "name": "Kantor Disdukcapil Mimika",
                                        "service_types": "KTP-el\nKK", "population": "2026: 900",
                                        "active": "1"})  # fmt: skip
        # The console-channel officer cannot be written in a directory file (telegram or
        # whatsapp only): the file's rules refuse the save and say where, nothing changes.
        assert saved.status == 400
        assert "recipients[1].channel: Pilihan tidak dikenal." in await saved.text()
        async with sqlite_storage.transaction() as tx:
            await deactivate_recipient(tx, opd_code="disdukcapil", role="officer",
                                       channel="console", address="petugas")  # fmt: skip
        saved = await client.post("/direktori/unit/dukcapil-kantor", allow_redirects=False,
                                  data={"_csrf": found[1], "name": "Kantor Disdukcapil Mimika",
                                        "service_types": "KTP-el\nKK", "population": "2026: 900",
                                        "active": "1"})  # fmt: skip
        assert saved.status == 303
    async with sqlite_storage.reading() as tx:
        assert [a for a, _, _ in await complaint_events(tx, ticket)] == ["file", "verify"]
        kantor = [
            u for o in await current_directory(tx) for u in o.units if u.code == "dukcapil-kantor"
        ]
        assert (kantor[0].name, kantor[0].service_types, kantor[0].population) == (
            "Kantor Disdukcapil Mimika",
            ("KTP-el", "KK"),
            {"2026": 900},
        )
        notices = (await tx.session.execute(select(OutboxMessage.payload))).scalars().all()
    assert any("sudah diverifikasi" in str(p.get("text", "")) for p in notices)
