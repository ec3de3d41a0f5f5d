"""A report from date blocks (closed months kept, today queried) equals the report queried
over the whole period at once, figure for figure, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from reports.build import build_report
from reports.cache import ReportCache
from reports.model import ReportRequest
from reports.period import parse_period
from reports.tallies import blocks
from storage import Storage
from storage.reports import RESPONSES, SCORES, PaperResponse, ReportStore
from survey_flows.questionnaire import PROFILE_ITEMS
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0

FIRST = date(2026, 9, 20)  # the data span Q3's end to Q4's end: blocks cut across quarters
DAYS = 104
UNITS = ("dukcapil-mpp", "dukcapil-kantor", "rsud-igd", "dishub-kir")
REQUESTS = (
    ReportRequest(parse_period("2026-Q4"), suggestion_limit=2),
    ReportRequest(parse_period("2026-Q4"), suggestion_limit=0),
    ReportRequest(parse_period("2026-12"), suggestion_limit=None),
    ReportRequest(parse_period("2026"), opd_codes=("disdukcapil",), suggestion_limit=1),
    ReportRequest(parse_period("2026-Q4"), unit_codes=("rsud-igd",), channel="paper"),
    ReportRequest(parse_period("2026-Q4"), profile=(("gender", "P"),)),
)


def test_blocks_cut_at_month_starts_and_today() -> None:
    cut = blocks(date(2026, 10, 1), date(2027, 1, 1), date(2026, 12, 15))
    assert cut.closed == (
        (date(2026, 12, 1), date(2026, 12, 15)),
        (date(2026, 11, 1), date(2026, 12, 1)),
        (date(2026, 10, 1), date(2026, 11, 1)),
    )
    assert cut.live == (date(2026, 12, 15), date(2027, 1, 1))
    assert blocks(date(2026, 10, 1), date(2027, 1, 1), date(2026, 10, 1)).closed == ()
    past = blocks(date(2025, 12, 10), date(2026, 1, 20), date(2026, 12, 15))
    assert past.live is None
    assert past.closed == (
        (date(2026, 1, 1), date(2026, 1, 20)),
        (date(2025, 12, 10), date(2026, 1, 1)),
    )


def _profile_value(name: str, options: tuple[str, ...]) -> st.SearchStrategy[str | None]:
    # A value outside the questionnaire's list (an old row) now and then: counted exactly too.
    return st.one_of(st.none(), st.sampled_from(options), st.just("other"))


PROFILES = st.fixed_dictionaries(
    {name: _profile_value(name, tuple(options)) for name, options in PROFILE_ITEMS}
).map(lambda d: {k: v for k, v in d.items() if v is not None})

RESPONSE = st.builds(
    PaperResponse,
    unit_code=st.sampled_from(UNITS),
    local_date=st.integers(0, DAYS).map(lambda n: FIRST + timedelta(days=n)),
    service_type=st.sampled_from((None, "KTP-el", "IGD")),
    profile=PROFILES,
    scores=st.fixed_dictionaries({f"U{k}": st.integers(1, 4) for k in range(1, 10)}),
    suggestion=st.sampled_from((None, "", "Antrian lama", "Telepon saya 081234567890")),
)


async def _same_both_ways(storage: Storage, cache: ReportCache) -> None:
    version = await cache.version()
    for request in REQUESTS:
        whole = await build_report(storage, request, organisation="Kab")
        assert await cache.report(request, version) == whole, request


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    responses=st.lists(RESPONSE, max_size=25),
    later=st.lists(RESPONSE, max_size=4),
    today=st.integers(1, DAYS).map(lambda n: FIRST + timedelta(days=n)),
)
async def test_blocks_and_today_make_the_whole_periods_report(
    storage: Storage, responses: list[PaperResponse], later: list[PaperResponse], today: date
) -> None:
    async with storage.engine.begin() as connection:
        await connection.execute(delete(SCORES))
        await connection.execute(delete(RESPONSES))
    if not await ReportStore(storage).directory_units():
        await load_small_directory(storage)
    store = ReportStore(storage)
    await store.insert_paper_responses(responses, T0)
    cache = ReportCache(storage, "Kab", today=lambda: today)
    await _same_both_ways(storage, cache)
    # More arrive, today's and past-dated ones (a paper import): kept blocks of the days they
    # fall in must go, the others stay; the reports are still the whole period's.
    await store.insert_paper_responses(later, T0)
    cache._entries.clear()  # build every report again (from the blocks that survived)
    await _same_both_ways(storage, cache)


def paper(day: date) -> PaperResponse:
    return PaperResponse("rsud-igd", day, None, {}, {f"U{k}": 3 for k in range(1, 10)}, None)


async def test_a_response_today_queries_no_closed_block_again(storage: Storage) -> None:
    await load_small_directory(storage)
    store = ReportStore(storage)
    today = date(2026, 12, 15)

    await store.insert_paper_responses([paper(date(2026, 10, 3)), paper(today)], T0)
    cache = ReportCache(storage, "Kab", today=lambda: today)
    request = ReportRequest(parse_period("2026-Q4"), suggestion_limit=0)
    assert (await cache.report(request)).respondents == 2
    assert cache.block_queries == 3  # October, November, 1-14 December
    await store.insert_paper_responses([paper(today)], T0)
    assert (await cache.report(request)).respondents == 3
    assert cache.block_queries == 3 and cache.builds == 2
    await store.insert_paper_responses([paper(date(2026, 11, 30))], T0)  # a past-dated import
    assert (await cache.report(request)).respondents == 4
    assert cache.block_queries == 4  # November's block only


async def test_a_response_committed_after_a_newer_one_still_drops_its_block(
    storage: Storage,
) -> None:
    """Ids are given at insert, not commit: a paper import's rows can show up after a chat
    response with a greater id was seen. Simulated with an id left free, then filled."""
    await load_small_directory(storage)
    store = ReportStore(storage)
    today = date(2026, 12, 15)

    await store.insert_paper_responses([paper(date(2026, 11, 2)), paper(today)], T0)
    async with storage.engine.begin() as connection:
        first = (await connection.execute(select(RESPONSES.c.id).order_by(RESPONSES.c.id))).first()
        assert first is not None
        (free,) = first
        row = dict((await connection.execute(RESPONSES.select().where(RESPONSES.c.id == free)))
                   .mappings().one())  # fmt: skip
        await connection.execute(delete(SCORES).where(SCORES.c.response_id == free))
        await connection.execute(delete(RESPONSES).where(RESPONSES.c.id == free))
    cache = ReportCache(storage, "Kab", today=lambda: today)
    request = ReportRequest(parse_period("2026-Q4"), suggestion_limit=0)
    assert (await cache.report(request)).respondents == 1
    async with storage.engine.begin() as connection:  # the "late" commit, below the newest id
        await connection.execute(RESPONSES.insert().values(row))
        await connection.execute(
            SCORES.insert(),
            [{"response_id": free, "element_code": f"U{k}", "score": 1} for k in range(1, 10)],
        )
    rebuilt = await cache.report(request)
    assert rebuilt == await build_report(storage, request, organisation="Kab")
    assert rebuilt.respondents == 2
