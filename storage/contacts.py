"""Contacts: inbound events, the contact of each (created on first contact), one contact per
person on WhatsApp (phone number and business-scoped user id: promotion and merge), the
contact's language and consent, blocking and erasure."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select, update

from storage.base import StorageBase, TxBase, event_key
from storage.complaint_models import Complaint
from storage.models import Contact, Conversation, InboundEvent, OutboxMessage, SurveyResponse
from storage.privacy import (
    erase_complaint_content,
    erase_followups,
    keep_for_open_complaints,
    open_complaint_ids,
    unlink_responses,
)
from storage.responses import units_answered_since

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
COMPLAINTS: Table = Complaint.__table__  # type: ignore[assignment]
INBOUND: Table = InboundEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class _EventRow:
    event_row: int
    event_contact: int | None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A contact as the dispatcher needs it."""

    id: int
    channel: str
    address: str
    language: str
    consent_at: datetime | None
    blocked: bool
    phone: str | None = None  # WhatsApp: the phone number, when Meta has shown it
    respondent_key: str | None = None  # the pseudonym of the contact's responses, once stored
    parent_address: str | None = None  # WhatsApp: the parent BSUID, when Meta sends one
    # The survey profile the citizen asked us to remember (issue 14, item 16); empty if none.
    saved_profile: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def reply_address(self) -> str:
        """Where replies go: the phone number whenever one is known (Meta's advice), else
        the address (a business-scoped user id on WhatsApp)."""
        return self.phone or self.address


# A respondent key for an address (HMAC with the deployment's secret, handlers/dispatcher.py):
# storage keeps no secret, so whoever merges contacts passes it.
Pseudonym = Callable[[str], str]

# Storage remembers, per process, which contact a phone-only payload belongs to once settled:
# (channel, phone) -> that contact's address (its BSUID), so such payloads do not settle again
# on every message. Erasure clears it, and a number that moves to another BSUID leaves it.
_PHONE_OWNERS_MAX = 10_000


def is_phone(address: str) -> bool:
    """True for a WhatsApp phone number (wa_id: digits only); a BSUID is ``CC.<id>``."""
    return address.isascii() and address.isdigit()


class ContactsTx(TxBase):
    """A transaction's operations on inbound events and contacts."""

    async def record_inbound(self, channel: str, event_id: str, received_at: datetime) -> bool:
        """Record an inbound event; False when it was seen before (a redelivery)."""
        return await self._record_event(channel, event_id, received_at, None) is not None

    async def _record_event(
        self, channel: str, event_id: str, received_at: datetime, address: str | None
    ) -> Any:
        """The new event's row (id, contact_id: the contact at ``address`` when it exists),
        or None for a redelivery. ``event_id`` is stored as given: callers pass the keyed
        hash (``storage.base.keyed_event_id``), never a platform's raw id."""
        values = {
            "channel": channel,
            "event_id": event_key(event_id),
            "received_at": received_at,
            "address": address,
        }
        return (await self.connection.execute(self.hot.record_inbound, values)).one_or_none()

    async def _link_event(self, event: Any, contact_id: int) -> None:
        """Link the event to its contact when recording could not (a first event, a merge)."""
        if event.event_contact != contact_id:
            await self.connection.execute(
                self.hot.link_inbound, {"event_row": event.event_row, "event_contact": contact_id}
            )

    async def contact_for(
        self,
        channel: str,
        address: str,
        language: str,
        now: datetime,
        *,
        respondent_key: str | None = None,
    ) -> ContactRecord:
        """The contact for a platform address, created on first contact (one round trip).

        ``respondent_key`` is stored on a new contact (and on an old one that has none)."""
        connection = self.connection
        values = {
            "channel": channel,
            "address": address,
            "language": language,
            "created_at": now,
            "last_inbound_at": now,
            "respondent_key": respondent_key,
        }
        row = (await connection.execute(self.hot.contact_for, values)).one()
        return _contact_record(row, channel, address)

    async def begin_event(
        self,
        channel: str,
        event_id: str,
        address: str,
        now: datetime,
        *,
        language: str,
        respondent_key: str,
        answered_since: date | None,
        phone: str | None = None,
        parent: str | None = None,
        pseudonym: Pseudonym | None = None,
    ) -> tuple[ContactRecord, frozenset[str]] | None:
        """Record an inbound event and find (or create) its contact; None for a redelivery.

        Also returns the codes of the units the contact answered on or after
        ``answered_since`` (none when it is None), by the contact's stored respondent key;
        ``respondent_key`` (the HMAC of ``address``) is stored on a new contact. One round
        trip on PostgreSQL.

        WhatsApp: ``phone`` is the phone number the payload shows besides ``address`` (a
        business-scoped user id, or the phone itself), ``parent`` the parent BSUID. The
        person stays one contact: a contact keyed by the phone earlier is promoted to the
        BSUID, two contacts already split are merged (:meth:`merge_contacts`, which needs
        ``pseudonym``). That costs more statements only when the contact's stored phone
        differs from ``phone`` (the first such payload), never on the common path.
        """
        if phone is not None and address == phone:  # a phone-only payload
            address = self._phone_owners.get((channel, phone), address)
        if self.dialect != "postgresql":
            event = await self._record_event(channel, event_id, now, address)
            if event is None:
                return None
            contact = await self.contact_for(
                channel, address, language, now, respondent_key=respondent_key
            )
            contact = await self._settle(contact, phone, parent, pseudonym)
            await self._link_event(_EventRow(event.id, event.contact_id), contact.id)
            recent: frozenset[str] = frozenset()
            if answered_since is not None and contact.respondent_key is not None:
                recent = await units_answered_since(self, contact.respondent_key, answered_since)
            return contact, recent
        assert self.hot.driver is not None
        rows = await self.driver_fetch(
            self.hot.driver.begin_event,
            {
                "channel": channel,
                "event_id": event_key(event_id),
                "received_at": now,
                "address": address,
                "language": language,
                "respondent_key": respondent_key,
                # No window: a date no response can be on or after.
                "since": answered_since or date.max,
            },
        )
        if not rows:
            return None
        row = rows[0]
        contact = _contact_record(row, channel, address)
        settled = await self._settle(contact, phone, parent, pseudonym)
        await self._link_event(row, settled.id)
        if settled is contact:
            if row.locked:  # lock_conversation then reads it from here (no round trip)
                self._locked[contact.id] = row.state
            return contact, frozenset(row.recent or ())
        recent = frozenset[str]()
        if answered_since is not None and settled.respondent_key is not None:
            recent = await units_answered_since(self, settled.respondent_key, answered_since)
        return settled, recent

    # --- one person, one contact (WhatsApp: phone number and business-scoped user id) ------

    async def _settle(
        self,
        contact: ContactRecord,
        phone: str | None,
        parent: str | None,
        pseudonym: Pseudonym | None,
    ) -> ContactRecord:
        """``contact`` once its stored phone and parent BSUID match the payload's.

        The contact itself when they already match (the common case: no statement). Else
        any other contact holding the phone is the same person and merged (a contact keyed
        by the phone earlier, or split by an older version), unless both are keyed by
        different business-scoped user ids: then the number moved to someone else (Meta
        gives a changed number a new BSUID) and only the phone moves.
        """
        if parent is not None and parent != contact.parent_address:
            await self.connection.execute(
                update(Contact).where(Contact.id == contact.id).values(parent_address=parent)
            )
            contact = _replace(contact, parent_address=parent)
        if phone is None or phone == contact.phone or pseudonym is None:
            return contact
        others = (
            await self.connection.execute(
                select(Contact.id, Contact.address)
                .where(
                    Contact.channel == contact.channel,
                    Contact.id != contact.id,
                    or_(Contact.address == phone, Contact.phone == phone),
                )
                .order_by(Contact.id)
                .with_for_update()
            )
        ).all()
        if not others:  # the first payload of someone new that shows their phone
            await self.connection.execute(
                update(Contact).where(Contact.id == contact.id).values(phone=phone)
            )
            return _replace(contact, phone=phone)
        keep_id, address = contact.id, contact.address
        for other_id, other_address in others:
            if not is_phone(other_address) and not is_phone(address):
                await self.connection.execute(
                    update(Contact).where(Contact.id == other_id).values(phone=None)
                )
                self._phone_owners.pop((contact.channel, phone), None)
                continue
            # Into the older contact (ids only grow): the one the earlier history belongs to.
            keep, gone = (other_id, keep_id) if other_id < keep_id else (keep_id, other_id)
            await self.merge_contacts(keep, gone, pseudonym)
            keep_id = keep
            address = address if not is_phone(address) else other_address
        await self.connection.execute(
            update(Contact).where(Contact.id == keep_id).values(address=address, phone=phone)
        )
        if is_phone(contact.address) and not is_phone(address):
            self._remember_phone_owner(contact.channel, phone, address)
        row = (
            await self.connection.execute(
                select(
                    Contact.id,
                    Contact.language,
                    Contact.consent_at,
                    Contact.blocked_at,
                    Contact.phone,
                    Contact.respondent_key,
                    Contact.parent_address,
                    Contact.saved_profile,
                ).where(Contact.id == keep_id)
            )
        ).one()
        return _contact_record(row, contact.channel, address)

    def _remember_phone_owner(self, channel: str, phone: str, address: str) -> None:
        owners = self._phone_owners
        owners[(channel, phone)] = address
        owners.move_to_end((channel, phone))
        while len(owners) > _PHONE_OWNERS_MAX:
            owners.popitem(last=False)

    async def merge_contacts(self, keep: int, gone: int, pseudonym: Pseudonym) -> None:
        """Make contact ``gone`` part of contact ``keep`` (one person seen under two
        addresses), then delete ``gone``.

        Its complaints and outbox rows move to ``keep``; its survey responses take ``keep``'s
        respondent key (so the once-a-day limit and the reports see one respondent); the
        conversation with the latest activity stays; the earliest consent and the language
        of the most recently active contact are kept. ``keep``'s address is unchanged (the
        caller sets the one it wants).
        """
        connection = self.connection
        self._locked.clear()  # conversations move or go below: lock them again if needed
        columns = (
            Contact.id,
            Contact.address,
            Contact.respondent_key,
            Contact.language,
            Contact.consent_at,
            Contact.consent_version,
            Contact.last_inbound_at,
            Contact.template_sent_at,
            Contact.blocked_at,
            Contact.parent_address,
        )
        rows = {
            row.id: row
            for row in await connection.execute(
                select(*columns).where(Contact.id.in_([keep, gone])).with_for_update()
            )
        }
        kept, merged = rows[keep], rows[gone]
        keep_key = kept.respondent_key or pseudonym(kept.address)
        gone_key = merged.respondent_key or pseudonym(merged.address)
        if gone_key != keep_key:
            await connection.execute(
                update(SurveyResponse)
                .where(SurveyResponse.respondent_key == gone_key)
                .values(respondent_key=keep_key)
            )
        for table in (COMPLAINTS, OUTBOX, INBOUND):
            await connection.execute(
                update(table).where(table.c.contact_id == gone).values(contact_id=keep)
            )
        await self._keep_latest_conversation(keep, gone)
        latest = max((kept, merged), key=lambda r: _sort_time(r.last_inbound_at))
        consents = [r for r in (kept, merged) if r.consent_at is not None]
        earliest = min(consents, key=lambda r: r.consent_at) if consents else None
        await connection.execute(delete(Contact).where(Contact.id == gone))
        await connection.execute(
            update(Contact)
            .where(Contact.id == keep)
            .values(
                respondent_key=keep_key,
                language=latest.language,
                consent_at=earliest.consent_at if earliest else None,
                consent_version=earliest.consent_version if earliest else None,
                last_inbound_at=latest.last_inbound_at,
                template_sent_at=max(
                    (kept.template_sent_at, merged.template_sent_at), key=_sort_time
                ),
                blocked_at=latest.blocked_at,
                parent_address=kept.parent_address or merged.parent_address,
            )
        )

    async def _keep_latest_conversation(self, keep: int, gone: int) -> None:
        """The conversation last written stays, as ``keep``'s."""
        connection = self.connection
        found = dict(
            (
                await connection.execute(
                    select(Conversation.contact_id, Conversation.updated_at).where(
                        Conversation.contact_id.in_([keep, gone])
                    )
                )
            ).all()
        )
        if gone not in found:
            return
        if keep in found and _sort_time(found[keep]) >= _sort_time(found[gone]):
            await connection.execute(delete(Conversation).where(Conversation.contact_id == gone))
            return
        await connection.execute(delete(Conversation).where(Conversation.contact_id == keep))
        await connection.execute(
            update(Conversation).where(Conversation.contact_id == gone).values(contact_id=keep)
        )

    async def set_language(self, contact_id: int, language: str) -> None:
        await self.session.execute(
            update(Contact).where(Contact.id == contact_id).values(language=language)
        )

    async def remember_profile(self, contact_id: int, profile: dict[str, str]) -> None:
        """Keep the survey profile the citizen asked us to remember (deleted with the row)."""
        await self.session.execute(
            update(Contact).where(Contact.id == contact_id).values(saved_profile=profile)
        )

    async def record_consent(self, contact_id: int, at: datetime, version: str) -> None:
        await self.session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(consent_at=at, consent_version=version)
        )

    async def forget_contact(
        self,
        contact_id: int,
        respondent_key: str | None = None,
        *,
        now: datetime | None = None,
        keep_open_complaints: bool = False,
    ) -> None:
        """Erase a contact (``/hapus``): its platform identity, conversation, inbound events
        and outbox rows, and the personal content of its complaints (docs/privacy.md).

        Its survey responses (by ``respondent_key``) stay for the statistics but each takes a
        random key, so nobody can link them to the person again (not the deployment through
        the HMAC of a phone number, not the once-a-day limit), and personal data typed into
        their suggestions is masked. With ``keep_open_complaints`` (the citizen's choice) and
        a complaint still open, the contact stays until none is open (the purge erases it
        then): only what the open complaints need is kept."""
        now = now or datetime.now(UTC)
        self._locked.pop(contact_id, None)
        if respondent_key is not None:
            await unlink_responses(self, respondent_key)
        await erase_followups(self, contact_id)  # no open complaint needs them
        if keep_open_complaints and await open_complaint_ids(self, contact_id):
            await keep_for_open_complaints(self, contact_id, now)
            await self.session.execute(
                delete(Conversation).where(Conversation.contact_id == contact_id)
            )
        else:
            await erase_complaint_content(self, COMPLAINTS.c.contact_id == contact_id, now)
            await self.session.execute(delete(Contact).where(Contact.id == contact_id))
        # Nothing in memory may link their phone number and BSUID any more (erasure is rare).
        self._phone_owners.clear()


class ContactsStorage(StorageBase):
    """Contacts, outside an inbound event."""

    async def mark_blocked(self, channel: str, address: str, now: datetime) -> None:
        """The platform says this contact blocked the bot: stop sending to them."""
        async with self._unit_of_work(TxBase) as tx:
            await tx.session.execute(
                update(Contact)
                .where(Contact.channel == channel, Contact.address == address)
                .values(blocked_at=now)
            )


def _contact_record(row: Any, channel: str, address: str) -> ContactRecord:
    return ContactRecord(
        id=row.id,
        channel=channel,
        address=address,
        language=row.language,
        consent_at=row.consent_at,
        blocked=row.blocked_at is not None,
        phone=row.phone,
        respondent_key=row.respondent_key,
        parent_address=row.parent_address,
        saved_profile=dict(row.saved_profile or {}),
    )


def _replace(contact: ContactRecord, **changes: Any) -> ContactRecord:
    return dataclasses.replace(contact, **changes)


def _sort_time(value: datetime | None) -> datetime:
    return value if value is not None else datetime.min.replace(tzinfo=UTC)
