"""The console's report cache: the same report until a response arrives, then a fresh one."""

from __future__ import annotations

from datetime import date

from reports.cache import ReportCache
from reports.model import ReportRequest
from reports.period import parse_period, quarters_up_to, recent_periods
from storage import Storage
from storage.reports import PaperResponse, ReportStore
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0

QUARTER = parse_period("2026-Q4")


def paper(score: int = 3, day: date = date(2026, 11, 20)) -> PaperResponse:
    return PaperResponse("dukcapil-mpp", day, None, {}, {f"U{k}": score for k in range(1, 10)},
                         None)  # fmt: skip


async def test_a_new_response_invalidates_and_nothing_else_does(storage: Storage) -> None:
    await load_small_directory(storage)
    await ReportStore(storage).insert_paper_responses([paper()], T0)
    seconds = [0.0]
    cache = ReportCache(storage, "Kab", clock=lambda: seconds[0])
    request = ReportRequest(QUARTER, suggestion_limit=0)
    first = await cache.report(request)
    assert await cache.report(request) is first and cache.builds == 1
    await ReportStore(storage).insert_paper_responses([paper(score=1)], T0)
    second = await cache.report(request)
    assert cache.builds == 2 and second.respondents == first.respondents + 1
    assert second.ikm is not None and first.ikm is not None and second.ikm < first.ikm
    seconds[0] += cache.ttl_s  # an erasure adds no response: the time limit catches it
    third = await cache.report(request)
    assert third is not second and cache.builds == 3


async def test_only_the_periods_of_the_new_responses_are_built_again(storage: Storage) -> None:
    await load_small_directory(storage)
    cache = ReportCache(storage, "Kab")
    autumn = ReportRequest(QUARTER, suggestion_limit=0)
    spring = ReportRequest(parse_period("2026-Q1"), suggestion_limit=0)
    year = ReportRequest(parse_period("2026"), suggestion_limit=0)
    for request in (autumn, spring, year):
        await cache.report(request)
    # A paper questionnaire of February: Q1 and the year change, Q4 does not.
    await ReportStore(storage).insert_paper_responses([paper(day=date(2026, 2, 3))], T0)
    assert (await cache.report(autumn)).respondents == 0 and cache.builds == 3
    assert (await cache.report(spring)).respondents == 1 and cache.builds == 4
    assert (await cache.report(year)).respondents == 1 and cache.builds == 5


async def test_the_oldest_entries_go_first(storage: Storage) -> None:
    await load_small_directory(storage)
    cache = ReportCache(storage, "Kab", max_entries=2)
    requests = [ReportRequest(q, suggestion_limit=0) for q in quarters_up_to(date(2026, 12, 6), 3)]
    for request in requests:
        await cache.report(request)
    await cache.report(requests[2])
    assert cache.builds == 3
    await cache.report(requests[0])  # dropped when the third came in
    assert cache.builds == 4


def test_the_picker_offers_recent_periods_newest_first() -> None:
    labels = [p.label for p in recent_periods(date(2026, 1, 15))]
    assert labels[:3] == ["2026-Q1", "2025-Q4", "2025-Q3"]
    assert labels[8:10] == ["2026-01", "2025-12"]
    assert labels[20:24] == ["2026-S1", "2025-S2", "2025-S1", "2024-S2"]
    assert labels[-3:] == ["2026", "2025", "2024"]
    assert [q.label for q in quarters_up_to(date(2026, 2, 1), 4)] == [
        "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1",
    ]  # fmt: skip
