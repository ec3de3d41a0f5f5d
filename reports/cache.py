"""Reports kept in memory per request (period and scope) until new data could change them,
built from date blocks kept in memory while their days are closed.

Every read first asks the database two cheap questions (:meth:`ReportStore.data_version`):
the newest response id, and the directory's state. When responses arrived since the last read,
their local dates are fetched (a primary-key range scan) and only the cached reports whose
period holds one of those dates are dropped: a new response today rebuilds this quarter's and
this month's reports, not last year's. A directory change drops everything. Entries also
expire after ``ttl_s`` (an erasure masks suggestions without adding a response), and the oldest
go beyond ``max_entries``. Each process keeps its own cache, each correct.

Ids are given out when rows are inserted, not when they are committed: a paper import's
transaction may commit after a chat response with a greater id was seen. The same read counts
the responses in the ``LATE_WINDOW`` ids below the newest seen; a count that grew means such a
late commit, and the dates of that window's responses are dropped too.

A report built again is not queried over its whole period: :func:`reports.tallies.blocks` cuts
the period into closed blocks (whole months before today, and this month up to yesterday) and
the live block from today on. Closed blocks' data are kept (``max_blocks``) and dropped only
when a response dated in them arrives (a paper import of past questionnaires) or the directory
changes; the live block is queried each time (today's few thousand responses, an index range).
A response arriving today thus costs the next visitor a query over today, not the quarter.
Blocks have no time limit: an erasure re-keys responses and masks suggestions that the report
masks again on the way out (:func:`reports.build.assemble`), so no figure or text changes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

from reports.build import assemble, checked_scope
from reports.model import RegencyReport, ReportRequest
from reports.tallies import blocks, combine
from storage import Storage
from storage.reports import ReportData, ReportScope, ReportStore

DEFAULT_TTL_S = 300.0
LATE_WINDOW = 10_000
"""How far below the newest response id a response committed late is still noticed: more
than a paper import's rows plus the chat responses stored while it runs."""


@dataclass(frozen=True)
class DataVersion:
    """The data a report was built from: responses up to ``response_id``, and the directory."""

    response_id: int
    directory: tuple[object, ...]


@dataclass
class _Entry:
    version: DataVersion
    built: float
    report: RegencyReport


_BlockKey = tuple[ReportScope, int | None]  # the block's scope (its dates), suggestion limit


class ReportCache:
    def __init__(
        self,
        storage: Storage,
        organisation: str,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = 256,
        max_blocks: int = 512,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = date.today,
    ) -> None:
        """``today``: the regency's local date (where closed blocks end; a wrong one costs
        speed, never correctness: every block is checked against the responses' dates)."""
        self.storage = storage
        self.organisation = organisation
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_blocks = max_blocks
        self.clock = clock
        self.today = today
        self._entries: OrderedDict[ReportRequest, _Entry] = OrderedDict()
        self._blocks: OrderedDict[_BlockKey, ReportData] = OrderedDict()
        self._seen: DataVersion | None = None
        # (low, n): n responses had ids in (low, the newest seen] at the last read.
        self._late: tuple[int, int] | None = None
        self.builds = 0  # how many reports were built (the tests and the bench read it)
        self.block_queries = 0  # how many closed blocks were queried (the tests read it)

    async def version(self) -> DataVersion:
        """The data's version now; cached reports it makes stale are dropped."""
        store = ReportStore(self.storage)
        seen, late = self._seen, self._late
        watch: tuple[int, ...] = ()
        if seen is not None and late is not None:
            watch = (late[0], seen.response_id, max(late[0], seen.response_id - LATE_WINDOW))
        response_id, directory, counts = await store.data_version(watch)
        current = DataVersion(response_id, directory)
        if seen is None or seen.directory != directory or response_id < seen.response_id:
            self._entries.clear()  # first read, the directory changed, or responses went
            self._blocks.clear()
            # Before any block is built on this version: how many responses it holds in the
            # window below its newest, to notice those committed late.
            low = max(0, response_id - LATE_WINDOW)
            _, _, (above_low, above_newest) = await store.data_version((low, response_id))
            self._late = (low, above_low - above_newest)
        else:
            if response_id > seen.response_id:
                self._drop(await store.dates_after(seen.response_id))
            if late is not None:
                above_low, above_seen, above_new_low = counts
                if above_low - above_seen > late[1]:
                    # A response with an id below the newest seen was committed since (a paper
                    # import's transaction ends after a chat response's): its dates go too.
                    self._drop(await store.dates_between(late[0], seen.response_id))
                self._late = (watch[2], above_new_low)
        self._seen = current
        return current

    def _drop(self, days: Iterable[date]) -> None:
        changed = frozenset(days)
        for request in [r for r in self._entries if any(r.period.contains(d) for d in changed)]:
            del self._entries[request]
        for key in [k for k in self._blocks if any(k[0].start <= d < k[0].end for d in changed)]:
            del self._blocks[key]

    async def report(
        self, request: ReportRequest, version: DataVersion | None = None
    ) -> RegencyReport:
        """The report for ``request``, built again only when its data may have changed.

        ``version``: the data version already read for this page (several reports, one read).
        """
        current = version or await self.version()
        now = self.clock()
        cached = self._entries.get(request)
        if cached is not None and now - cached.built < self.ttl_s:
            self._entries.move_to_end(request)
            return cached.report
        report = assemble(
            await self._data(request, current), request, organisation=self.organisation
        )
        self.builds += 1
        if await self._still_current(request.period.contains, current):
            self._entries[request] = _Entry(current, now, report)
            self._entries.move_to_end(request)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return report

    async def _data(self, request: ReportRequest, current: DataVersion) -> ReportData:
        """The request's data: its closed blocks (kept) and its live block (queried)."""
        scope = checked_scope(request)
        limit = request.suggestion_limit
        store = ReportStore(self.storage)
        cut = blocks(scope.start, scope.end, self.today())
        parts: list[ReportData] = []
        if cut.live is not None or not cut.closed:
            live = scope if cut.live is None else replace(scope, start=cut.live[0])
            narrow = cut.live is not None
            parts.append(await store.report_data(live, suggestion_limit=limit, narrow=narrow))
        if cut.closed:
            parts.append(await self._closed(scope, limit, cut.closed, current))
        return combine(parts, limit)

    async def _closed(
        self,
        scope: ReportScope,
        limit: int | None,
        ranges: tuple[tuple[date, date], ...],
        current: DataVersion,
    ) -> ReportData:
        """The sum of the closed blocks ``ranges`` (newest first), itself kept as a block over
        their whole span (dropped with any of them), so a rebuild adds two parts, not many."""
        span = (replace(scope, start=ranges[-1][0], end=ranges[0][1]), limit)
        summed = self._blocks.get(span)
        if summed is not None:
            self._blocks.move_to_end(span)
            return summed
        parts: list[ReportData] = []
        for start, end in ranges:
            key = (replace(scope, start=start, end=end), limit)
            kept = self._blocks.get(key)
            if kept is not None:
                self._blocks.move_to_end(key)
            else:
                kept = await ReportStore(self.storage).report_data(key[0], suggestion_limit=limit)
                self.block_queries += 1
                await self._keep(key, kept, current)
            parts.append(kept)
        summed = combine(parts, limit)
        if len(ranges) > 1:
            await self._keep(span, summed, current)
        return summed

    async def _keep(self, key: _BlockKey, data: ReportData, built_on: DataVersion) -> None:
        if await self._still_current(_within(key[0].start, key[0].end), built_on):
            self._blocks[key] = data
            while len(self._blocks) > self.max_blocks:
                self._blocks.popitem(last=False)

    async def _still_current(self, contains: Callable[[date], bool], built_on: DataVersion) -> bool:
        """False when responses dated where ``contains`` says were noticed while the data was
        built (a concurrent page read the new version first): such data is served, not kept."""
        seen = self._seen
        if seen is None or seen == built_on:
            return True
        if seen.directory != built_on.directory or seen.response_id < built_on.response_id:
            return False
        days = await ReportStore(self.storage).dates_after(built_on.response_id)
        return not any(contains(d) for d in days)


def _within(start: date, end: date) -> Callable[[date], bool]:
    def contains(day: date) -> bool:
        return start <= day < end

    return contains
