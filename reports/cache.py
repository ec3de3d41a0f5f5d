"""Reports kept in memory per request (period and scope) until new data could change them.

Every read first asks the database two cheap questions (:meth:`ReportStore.data_version`):
the newest response id, and the directory's state. When responses arrived since the last read,
their local dates are fetched (a primary-key range scan) and only the cached reports whose
period holds one of those dates are dropped: a new response today rebuilds this quarter's and
this month's reports, not last year's. A directory change drops everything. Entries also
expire after ``ttl_s`` (an erasure masks suggestions without adding a response), and the oldest
go beyond ``max_entries``. Each process keeps its own cache, each correct.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from reports.build import build_report
from reports.model import RegencyReport, ReportRequest
from storage import Storage
from storage.reports import ReportStore

DEFAULT_TTL_S = 300.0


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


class ReportCache:
    def __init__(
        self,
        storage: Storage,
        organisation: str,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.organisation = organisation
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[ReportRequest, _Entry] = OrderedDict()
        self._seen: DataVersion | None = None
        self.builds = 0  # how many reports were built (the tests and the bench read it)

    async def version(self) -> DataVersion:
        """The data's version now; cached reports it makes stale are dropped."""
        store = ReportStore(self.storage)
        response_id, directory = await store.data_version()
        current = DataVersion(response_id, directory)
        seen = self._seen
        if seen is None or seen.directory != directory or response_id < seen.response_id:
            self._entries.clear()  # first read, the directory changed, or responses went
        elif response_id > seen.response_id:
            self._drop(await store.dates_after(seen.response_id))
        self._seen = current
        return current

    def _drop(self, days: Iterable[date]) -> None:
        changed = frozenset(days)
        for request in [r for r in self._entries if any(r.period.contains(d) for d in changed)]:
            del self._entries[request]

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
        report = await build_report(self.storage, request, organisation=self.organisation)
        self.builds += 1
        if await self._still_current(request, current):
            self._entries[request] = _Entry(current, now, report)
            self._entries.move_to_end(request)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return report

    async def _still_current(self, request: ReportRequest, built_on: DataVersion) -> bool:
        """False when responses of the request's period were noticed while it was built (a
        concurrent page read the new version first): such a report is served, not kept."""
        seen = self._seen
        if seen is None or seen == built_on:
            return True
        if seen.directory != built_on.directory or seen.response_id < built_on.response_id:
            return False
        days = await ReportStore(self.storage).dates_after(built_on.response_id)
        return not any(request.period.contains(d) for d in days)
