"""Counter posters: an A4 page per unit with the QR codes that open its survey.

Each poster has the unit's name, a short instruction in Indonesian, a QR code per configured
channel (the Telegram deep link ``https://t.me/<bot>?start=u_<code>`` and the WhatsApp link
``https://wa.me/<number>?text=SKM%20<code>``), a smaller QR code for the unit's complaint form
(``https://wa.me/<number>?text=PENGADUAN%20<code>``, else ``https://t.me/<bot>?start=c_<code>``)
and, once the unit has enough respondents, its IKM and grade for the latest complete quarter:
the publication PermenPANRB 14/2017 asks for.
Written as PDF (for printing) and PNG (for screens and chats).
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import segno

from reports.charts import A4_PORTRAIT_IN, plain_text
from reports.model import ReportRequest, UnitReport, id_decimal
from reports.period import Period
from storage import Storage
from survey_flows.complaint_flow import COMPLAINT_LINK_PREFIX
from survey_flows.directory import Directory, UnitInfo
from survey_flows.skm import DEEP_LINK_PREFIX

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn (~0.3 s at start-up)
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_MIN_RESPONDENTS",
    "PNG_DPI",
    "PosterContent",
    "PosterError",
    "PosterFiles",
    "poster_content",
    "poster_links",
    "complaint_telegram_link",
    "complaint_whatsapp_link",
    "qr_code",
    "telegram_link",
    "whatsapp_link",
    "write_poster",
]

DEFAULT_MIN_RESPONDENTS = 30
"""Below this many respondents in the quarter the poster shows no index, only a note."""
PNG_DPI = 150
QR_ERROR_LEVEL = "m"
_QUIET_ZONE = 4
_TELEGRAM_USER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_PHONE = re.compile(r"^[1-9]\d{7,14}$")

# The word the complaint link prefills (``survey_flows.skm`` reads "PENGADUAN <unit code>").
COMPLAINT_WORD = "PENGADUAN"
COMPLAINT_INSTRUCTION = (
    "Ada keluhan tentang layanan ini? Pindai kode ini untuk menyampaikan pengaduan,"
)

INSTRUCTION = (
    "Bagaimana pelayanan kami hari ini? Pindai kode QR dengan kamera ponsel Anda, lalu jawab "
    "sembilan pertanyaan singkat (sekitar 2 menit). Tanpa nama, tanpa nomor telepon."
)


class PosterError(ValueError):
    """A poster cannot be made (no channel configured, a malformed username or number)."""


def telegram_link(bot_username: str, unit_code: str) -> str:
    """The deep link that opens ``unit_code``'s survey in the Telegram bot."""
    username = bot_username.strip().removeprefix("@")
    if not _TELEGRAM_USER.fullmatch(username):
        raise PosterError(f"TELEGRAM_BOT_USERNAME {bot_username!r} is not a Telegram username")
    return f"https://t.me/{username}?start={DEEP_LINK_PREFIX}{unit_code}"


def whatsapp_link(number: str, unit_code: str) -> str:
    """The click-to-chat link that sends ``SKM <code>`` to the WhatsApp number."""
    digits = re.sub(r"[\s+\-()]", "", number)
    if not _PHONE.fullmatch(digits):
        raise PosterError(
            f"WHATSAPP_NUMBER {number!r} must be an international number, e.g. 6281234567890"
        )
    return f"https://wa.me/{digits}?text=SKM%20{unit_code}"


def complaint_telegram_link(bot_username: str, unit_code: str) -> str:
    """The deep link that opens ``unit_code``'s complaint form in the Telegram bot."""
    survey = telegram_link(bot_username, unit_code)
    return survey.replace(f"start={DEEP_LINK_PREFIX}", f"start={COMPLAINT_LINK_PREFIX}", 1)


def complaint_whatsapp_link(number: str, unit_code: str) -> str:
    """The click-to-chat link that sends ``PENGADUAN <code>``: the unit's complaint form."""
    survey = whatsapp_link(number, unit_code)
    return survey.replace("?text=SKM%20", f"?text={COMPLAINT_WORD}%20", 1)


# The public results pages' path under the console's prefix (handlers/web/public.py).
RESULTS_PATH = "/hasil"


def results_link(public_base: str, unit_code: str) -> str:
    """The unit's public results page: ``public_base`` is ``PUBLIC_BASE_URL`` and the
    console's prefix (``https://skm.example.go.id/konsol``)."""
    return f"{public_base.rstrip('/')}{RESULTS_PATH}/unit/{unit_code}"


def qr_code(url: str) -> segno.QRCode:
    """The QR code of ``url`` (error correction M, never a Micro QR)."""
    return segno.make(url, error=QR_ERROR_LEVEL, micro=False)


@dataclass(frozen=True, slots=True)
class PosterContent:
    """What one poster says."""

    organisation: str
    unit_code: str
    unit_name: str
    opd_name: str
    telegram_url: str | None
    whatsapp_url: str | None
    whatsapp_number: str | None
    result_line: str
    # The unit's complaint form: the WhatsApp link when there is one, else Telegram's.
    complaint_url: str | None = None
    # The unit's public results page (printed under the QR codes; PUBLIC_BASE_URL set).
    results_url: str | None = None


@dataclass(frozen=True)
class PosterFiles:
    """The files written for one unit, and the QR codes drawn on them."""

    pdf: Path
    png: Path
    telegram_qr: segno.QRCode | None
    whatsapp_qr: segno.QRCode | None
    complaint_qr: segno.QRCode | None = None


def result_line(unit: UnitReport | None, period: Period, min_respondents: int) -> str:
    """The index line of a poster, or a note saying why there is none yet."""
    respondents = 0 if unit is None else unit.respondents
    if unit is not None and respondents >= min_respondents and unit.ikm is not None:
        assert unit.mutu is not None
        return (
            f"Hasil survei {period.title_id}: IKM {id_decimal(unit.ikm)}, mutu {unit.mutu.value} "
            f"({unit.kinerja}), {respondents} responden."
        )
    return (
        f"Hasil IKM ditampilkan setelah minimal {min_respondents} responden dalam satu "
        f"triwulan ({period.title_id}: {respondents} responden)."
    )


def poster_links(content: PosterContent) -> list[tuple[str, str]]:
    """(what, link) of a poster's QR codes, for ``skm-bot poster --links``."""
    links = [
        ("survey telegram", content.telegram_url),
        ("survey whatsapp", content.whatsapp_url),
        ("complaint", content.complaint_url),
        ("results", content.results_url),
    ]
    return [(what, url) for what, url in links if url]


def poster_content(
    *,
    organisation: str,
    unit_code: str,
    unit_name: str,
    opd_name: str,
    telegram_bot_username: str | None,
    whatsapp_number: str | None,
    result: str,
    results_url: str | None = None,
) -> PosterContent:
    """Links for the configured channels.

    Raises:
        PosterError: neither channel is configured, or one is malformed.
    """
    if not telegram_bot_username and not whatsapp_number:
        raise PosterError(
            "set TELEGRAM_BOT_USERNAME and/or WHATSAPP_NUMBER: a poster needs at least one QR code"
        )
    telegram = telegram_link(telegram_bot_username, unit_code) if telegram_bot_username else None
    whatsapp = whatsapp_link(whatsapp_number, unit_code) if whatsapp_number else None
    number = re.sub(r"[\s+\-()]", "", whatsapp_number) if whatsapp_number else None
    if whatsapp_number:
        complaint = complaint_whatsapp_link(whatsapp_number, unit_code)
    else:
        assert telegram_bot_username
        complaint = complaint_telegram_link(telegram_bot_username, unit_code)
    return PosterContent(
        organisation=organisation,
        unit_code=unit_code,
        unit_name=unit_name,
        opd_name=opd_name,
        telegram_url=telegram,
        whatsapp_url=whatsapp,
        whatsapp_number=number,
        result_line=result,
        complaint_url=complaint,
        results_url=results_url,
    )


def qr_pixels(qr: segno.QRCode) -> list[list[int]]:
    """The QR matrix with its quiet zone of light modules, 1 = dark module."""
    size = len(qr.matrix) + 2 * _QUIET_ZONE
    margin = [0] * _QUIET_ZONE
    rows = [[0] * size for _ in range(_QUIET_ZONE)]
    rows += [[*margin, *(1 if module else 0 for module in row), *margin] for row in qr.matrix]
    rows += [[0] * size for _ in range(_QUIET_ZONE)]
    return rows


def poster_figure(
    content: PosterContent,
) -> tuple[Figure, segno.QRCode | None, segno.QRCode | None, segno.QRCode | None]:
    """The A4 poster as a figure, with the QR codes drawn on it: the survey's per channel,
    and a smaller one for the unit's complaint form."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4_PORTRAIT_IN)
    figure.text(0.5, 0.95, content.organisation, ha="center", fontsize=13)
    figure.text(
        0.5, 0.905, "SURVEI KEPUASAN MASYARAKAT", ha="center", fontsize=22, fontweight="bold"
    )
    name = textwrap.fill(content.unit_name, 34)
    figure.text(0.5, 0.855, name, ha="center", va="top", fontsize=20, fontweight="bold")
    figure.text(0.5, 0.75, content.opd_name, ha="center", fontsize=11, color="#444444")
    figure.text(0.5, 0.70, textwrap.fill(INSTRUCTION, 62), ha="center", va="top", fontsize=12.5)

    codes: list[tuple[str, str, segno.QRCode, str]] = []
    telegram_qr = whatsapp_qr = None
    if content.telegram_url:
        telegram_qr = qr_code(content.telegram_url)
        codes.append(("Telegram", content.telegram_url, telegram_qr, "Buka di Telegram"))
    if content.whatsapp_url:
        whatsapp_qr = qr_code(content.whatsapp_url)
        hint = f'atau kirim "SKM {content.unit_code}" ke +{content.whatsapp_number}'
        codes.append(("WhatsApp", content.whatsapp_url, whatsapp_qr, hint))

    width = 0.36
    gap = (1 - width * len(codes)) / (len(codes) + 1)
    for index, (label, url, qr, hint) in enumerate(codes):
        left = gap + index * (width + gap)
        figure.text(left + width / 2, 0.585, label, ha="center", fontsize=16, fontweight="bold")
        # The matrix is drawn pixel for pixel: no smoothing, so every module stays sharp.
        axes = figure.add_axes((left, 0.32, width, width * A4_PORTRAIT_IN[0] / A4_PORTRAIT_IN[1]))
        axes.imshow(qr_pixels(qr), cmap="gray_r", interpolation="nearest", vmin=0, vmax=1)
        axes.set_axis_off()
        figure.text(left + width / 2, 0.305, url, ha="center", fontsize=6.5, color="#333333")
        figure.text(left + width / 2, 0.285, hint, ha="center", fontsize=8.5)
    if content.results_url:
        figure.text(0.5, 0.245, f"Hasil survei unit ini: {content.results_url}", ha="center",
                    fontsize=9, color="#0b5d8a")  # fmt: skip

    figure.text(
        0.5,
        0.215,
        textwrap.fill(content.result_line, 70),
        ha="center",
        va="top",
        fontsize=12,
        fontweight="bold",
        bbox={"boxstyle": "round,pad=0.6", "facecolor": "#f1f6fd", "edgecolor": "#4c8bf5"},
    )
    complaint_qr = _draw_complaint(figure, content)
    figure.text(
        0.5,
        0.025,
        "Survei Kepuasan Masyarakat menurut PermenPANRB No. 14 Tahun 2017. "
        f"Kode unit: {content.unit_code}",
        ha="center",
        fontsize=8,
        color="#555555",
    )
    return figure, telegram_qr, whatsapp_qr, complaint_qr


def _draw_complaint(figure: Figure, content: PosterContent) -> segno.QRCode | None:
    """The complaint link's QR code, small, with what it is for and what to send instead."""
    if not content.complaint_url:
        return None
    qr = qr_code(content.complaint_url)
    size = 0.13
    axes = figure.add_axes((0.08, 0.045, size, size * A4_PORTRAIT_IN[0] / A4_PORTRAIT_IN[1]))
    axes.imshow(qr_pixels(qr), cmap="gray_r", interpolation="nearest", vmin=0, vmax=1)
    axes.set_axis_off()
    lines = [textwrap.fill(COMPLAINT_INSTRUCTION, 58)]
    if content.whatsapp_number:
        lines.append(
            f'atau kirim "{COMPLAINT_WORD} {content.unit_code}" ke +{content.whatsapp_number}'
        )
    figure.text(0.24, 0.125, "\n".join(lines), va="top", fontsize=10)
    figure.text(0.24, 0.06, content.complaint_url, fontsize=6.5, color="#333333")
    return qr


def write_poster(content: PosterContent, directory: Path) -> PosterFiles:
    """Write ``poster-<code>.pdf`` and ``poster-<code>.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    figure, telegram_qr, whatsapp_qr, complaint_qr = poster_figure(content)
    pdf = directory / f"poster-{content.unit_code}.pdf"
    png = directory / f"poster-{content.unit_code}.png"
    plain_text(figure).savefig(pdf, format="pdf")
    figure.savefig(png, format="png", dpi=PNG_DPI)
    return PosterFiles(
        pdf=pdf,
        png=png,
        telegram_qr=telegram_qr,
        whatsapp_qr=whatsapp_qr,
        complaint_qr=complaint_qr,
    )


async def posters_for(
    storage: Storage,
    units: Sequence[UnitInfo],
    directory: Directory,
    *,
    organisation: str,
    telegram_bot_username: str | None,
    whatsapp_number: str | None,
    quarter: Period,
    min_respondents: int,
    public_base: str | None = None,
) -> list[PosterContent]:
    """What each unit's poster says: its QR links and its result for ``quarter`` (one report
    for all of them), and its public results page when ``public_base`` is given. For
    ``skm-bot poster`` and the console's download alike.

    Raises:
        PosterError: neither channel is configured, or one is malformed.
    """
    from reports.build import build_report  # the report builder reads the database

    report = await build_report(
        storage,
        ReportRequest(quarter, unit_codes=tuple(u.code for u in units), suggestion_limit=0),
        organisation=organisation,
    )
    results = {u.code: u for u in report.units}
    contents = []
    for unit in units:
        opd = directory.opd(unit.opd_code)
        results_url = results_link(public_base, unit.code) if public_base else None
        contents.append(
            poster_content(
                organisation=organisation,
                unit_code=unit.code,
                unit_name=unit.name,
                opd_name=opd.name if opd else unit.opd_code,
                telegram_bot_username=telegram_bot_username,
                whatsapp_number=whatsapp_number,
                result=result_line(results.get(unit.code), quarter, min_respondents),
                results_url=results_url,
            )
        )
    return contents


def poster_pdf(content: PosterContent) -> bytes:
    """One poster as PDF bytes (blocking: run it in a thread from async code)."""
    figure, *_ = poster_figure(content)
    buffer = io.BytesIO()
    plain_text(figure).savefig(buffer, format="pdf")
    return buffer.getvalue()
