"""Delivery reports (WhatsApp's sent/delivered/read/failed): one call, one transaction.

The webhook holds no transaction: it hands each report here.
"""

from __future__ import annotations

from datetime import datetime

from storage import Storage
from storage.base import event_key
from storage.models import DeliveryStatus


async def record_delivery_report(
    storage: Storage,
    channel: str,
    platform_message_id: str,
    status: DeliveryStatus,
    at: datetime,
    error: str | None = None,
    *,
    queue_template: bool = False,
    now: datetime,
) -> bool:
    """Record a report on the outbox row with that platform id; True if it queued the template.

    With ``queue_template`` (the platform said the message came too late for the contact's
    window), the approved template is queued for the row's contact, once per message and only
    when this report raised the row's status: a redelivered report queues nothing.
    """
    async with storage.transaction() as tx:
        record = await tx.record_delivery(channel, platform_message_id, status, at, error)
        if record is None or not record.applied or record.contact_id is None or not queue_template:
            return False
        queued = await tx.enqueue(
            channel=channel,
            messages=[("template", {"failed_message": platform_message_id})],
            dedupe_prefix=f"tpl:{channel}:{event_key(platform_message_id)}",
            now=now,
            contact_id=record.contact_id,
        )
        return bool(queued)
