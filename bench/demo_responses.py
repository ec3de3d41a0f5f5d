"""Generate a paper-questionnaire CSV of plausible responses for the Disdukcapil units.

Used to show a real digest from the example directory (docs/digests.md):

    python bench/demo_responses.py > /tmp/responses.csv
    export DATABASE_URL=sqlite+aiosqlite:////tmp/demo.sqlite3
    skm-bot units import examples/mimika.yaml
    skm-bot responses import /tmp/responses.csv
    skm-bot digest preview --opd disdukcapil --period 2026-W47 --output /tmp
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import date, timedelta

# unit code -> (responses in week 47, mean score)
UNITS = {"dukcapil-mpp": (46, 3.4), "dukcapil-kantor": (31, 3.0), "dukcapil-keliling": (6, 3.2)}
SUGGESTIONS = [
    "",
    "",
    "Antrean terlalu panjang, mohon tambah loket.",
    "Petugas ramah, terima kasih.",
    "Nomor antrean online sering error, hubungi saya 081298765432",
]


def main() -> None:
    rng = random.Random(2026)
    writer = csv.writer(sys.stdout)
    writer.writerow(["unit", "date", *(f"U{k}" for k in range(1, 10)), "gender", "suggestion"])
    for monday, scale in ((date(2026, 11, 16), 1.0), (date(2026, 11, 9), 0.8)):
        for unit, (count, mean) in UNITS.items():
            for _ in range(int(count * scale)):
                day = monday + timedelta(days=rng.randrange(5))
                # Waiting time (U3) scores lower, the fee (U4: free) higher, as in practice.
                scores = [
                    max(1, min(4, round(rng.gauss(mean - 0.5 * (k == 3) + 0.3 * (k == 4), 0.6))))
                    for k in range(1, 10)
                ]
                writer.writerow([unit, day.isoformat(), *scores, rng.choice("LP"),
                                 rng.choice(SUGGESTIONS)])  # fmt: skip


if __name__ == "__main__":
    main()
