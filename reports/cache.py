"""Reports kept in memory per request (period and scope) until the data changes.

Every read asks the database one cheap question first (:meth:`ReportStore.data_version`: the
newest response id, the directory's last change); a new response, a paper import or a
directory import gives a new version and the next read builds afresh. Entries also expire after
``ttl`` (an erasure masks suggestions without adding a response) and the oldest go beyond
``max_entries``. One process's cache: every worker keeps its own, each correct.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from reports.build import build_report
from reports.model import RegencyReport, ReportRequest
from storage import Storage
from storage.reports import ReportStore

DEFAULT_TTL_S = 300.0


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
        self._entries: OrderedDict[ReportRequest, tuple[object, float, RegencyReport]] = (
            OrderedDict()
        )
        self.builds = 0  # how many reports were built (the tests and the bench read it)

    async def version(self) -> object:
        return await ReportStore(self.storage).data_version()

    async def report(self, request: ReportRequest, version: object | None = None) -> RegencyReport:
        """The report for ``request``, built again only when the data changed.

        ``version``: the data version already read for this page (several reports, one read).
        """
        current = version if version is not None else await self.version()
        now = self.clock()
        cached = self._entries.get(request)
        if cached is not None and cached[0] == current and now - cached[1] < self.ttl_s:
            self._entries.move_to_end(request)
            return cached[2]
        report = await build_report(self.storage, request, organisation=self.organisation)
        self.builds += 1
        self._entries[request] = (current, now, report)
        self._entries.move_to_end(request)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return report
