"""Survey responses: written at the end of a chat survey, and read back (tests, exports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from storage.base import StorageBase, TxBase
from storage.models import ResponseScore, SurveyResponse, Unit
from survey_flows.types import SubmitResponse


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A survey response read back (for tests, exports and reports)."""

    id: int
    unit_code: str
    service_type: str | None
    channel: str
    respondent_key: str | None
    profile: dict[str, str]
    scores: dict[str, int]
    suggestion: str | None
    submitted_at: datetime
    local_date: date


async def units_answered_since(tx: TxBase, respondent_key: str, since: date) -> frozenset[str]:
    """Codes of the units this respondent answered on or after ``since`` (local date)."""
    rows = await tx.connection.execute(
        tx.hot.units_answered_since, {"respondent_key": respondent_key, "since": since}
    )
    return frozenset(rows.scalars())


class ResponsesTx(TxBase):
    """A transaction's operations on survey responses."""

    async def units_answered_since(self, respondent_key: str, since: date) -> frozenset[str]:
        """Codes of the units this respondent answered on or after ``since`` (local date)."""
        return await units_answered_since(self, respondent_key, since)

    async def insert_response(
        self, response: SubmitResponse, *, channel: str, respondent_key: str | None
    ) -> int:
        unit_id = (
            await self.session.execute(select(Unit.id).where(Unit.code == response.unit_code))
        ).scalar_one()
        row = SurveyResponse(
            unit_id=unit_id,
            service_type=response.service_type,
            channel=channel,
            source="chat",
            respondent_key=respondent_key,
            profile=dict(response.profile),
            suggestion=response.suggestion,
            language=response.language,
            started_at=response.started_at,
            submitted_at=response.submitted_at,
            local_date=response.local_date,
        )
        self.session.add(row)
        await self.session.flush()
        self.session.add_all(
            ResponseScore(response_id=row.id, element_code=code, score=score)
            for code, score in response.scores.items()
        )
        await self.session.flush()
        return row.id


class ResponsesStorage(StorageBase):
    """Survey responses read outside a conversation."""

    async def responses(self, unit_code: str | None = None) -> list[StoredResponse]:
        async with self.sessions() as session:
            query = (
                select(SurveyResponse, Unit.code)
                .join(Unit, Unit.id == SurveyResponse.unit_id)
                .order_by(SurveyResponse.id)
            )
            if unit_code:
                query = query.where(Unit.code == unit_code)
            rows = (await session.execute(query)).all()
            ids = [r.id for r, _ in rows]
            scores: dict[int, dict[str, int]] = {i: {} for i in ids}
            if ids:
                score_rows = await session.execute(
                    select(ResponseScore).where(ResponseScore.response_id.in_(ids))
                )
                for score in score_rows.scalars():
                    scores[score.response_id][score.element_code] = score.score
            return [
                StoredResponse(
                    id=r.id,
                    unit_code=code,
                    service_type=r.service_type,
                    channel=r.channel,
                    respondent_key=r.respondent_key,
                    profile=dict(r.profile),
                    scores=scores[r.id],
                    suggestion=r.suggestion,
                    submitted_at=r.submitted_at,
                    local_date=r.local_date,
                )
                for r, code in rows
            ]
