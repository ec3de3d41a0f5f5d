"""The web console's texts: Bahasa Indonesia first, English second.

Kept apart from the chat catalogue (``survey_flows.catalog``): pages have headings, table
columns and form labels, not chat messages. Same rules: stable keys, ``str.format``
placeholders, both languages with the same keys and placeholders (tests/test_web_access.py).
"""

from __future__ import annotations

from typing import Final

from survey_flows.catalog import DEFAULT_LANGUAGE, LANGUAGES, normalise_language

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "WEB_MESSAGES", "web_text"]

_ID: dict[str, str] = {
    "web.title": "Konsol SKM",
    "web.skip": "Langsung ke isi",
    "web.menu": "Menu",
    "web.signed_in_as": "Masuk sebagai {name} ({role})",
    "web.role.admin": "Bagian Organisasi",
    "web.role.head": "Kepala OPD",
    "web.role.officer": "Petugas OPD",
    "web.sign_out": "Keluar",
    "web.language_switch": "English",
    "web.footer": "Survei Kepuasan Masyarakat (PermenPANRB 14/2017)",
    # --- signing in ----------------------------------------------------------------------
    "web.signin.title": "Masuk ke Konsol SKM",
    "web.signin.intro": (
        "Tautan ini hanya dapat dipakai sekali. Tekan tombol di bawah untuk masuk."
    ),
    "web.signin.button": "Masuk",
    "web.help.title": "Cara masuk",
    "web.help.text": (
        "Pimpinan dan petugas OPD yang terdaftar: kirim pesan MASUK (Telegram: /masuk) ke bot "
        "SKM. Bapak/Ibu akan menerima tautan masuk yang berlaku 10 menit dan hanya sekali pakai."
    ),
    "web.help.admin": (
        "Bagian Organisasi: minta tautan kepada pengelola server "
        "(perintah: skm-bot web login-link --admin NAMA)."
    ),
    "web.signed_out.title": "Anda sudah keluar",
    "web.signed_out": "Sesi Anda sudah berakhir. Terima kasih.",
    # --- refusals ------------------------------------------------------------------------
    "web.refused.not_signed_in.title": "Silakan masuk dahulu",
    "web.refused.not_signed_in": "Halaman ini hanya untuk pengguna yang sudah masuk, atau sesi Anda sudah berakhir karena tidak aktif.",
    "web.refused.not_allowed.title": "Akses ditolak",
    "web.refused.not_allowed": "Maaf, peran Anda tidak mengizinkan halaman atau tindakan ini. Tidak ada yang diubah.",
    "web.refused.bad_form.title": "Formulir tidak sah",
    "web.refused.bad_form": "Formulir ini kedaluwarsa atau tidak berasal dari Konsol SKM. Tidak ada yang diubah. Silakan muat ulang halaman dan coba lagi.",
    "web.refused.link_unknown.title": "Tautan tidak dikenal",
    "web.refused.link_unknown": "Tautan masuk ini tidak dikenal. Silakan minta tautan baru.",
    "web.refused.link_expired.title": "Tautan sudah kedaluwarsa",
    "web.refused.link_expired": "Tautan masuk hanya berlaku 10 menit. Silakan minta tautan baru.",
    "web.refused.link_used.title": "Tautan sudah dipakai",
    "web.refused.link_used": "Tautan masuk hanya dapat dipakai sekali. Silakan minta tautan baru.",
    "web.refused.not_registered.title": "Tidak terdaftar",
    "web.refused.not_registered": "Pendaftaran Anda sudah tidak aktif. Silakan hubungi Bagian Organisasi.",
    "web.refused.not_found.title": "Halaman tidak ditemukan",
    "web.refused.not_found": "Halaman yang Anda cari tidak ada.",
    "web.refused.bad_input.title": "Permintaan tidak valid",
    "web.refused.bad_input": "Isian tidak valid. Tidak ada yang diubah.",
    "web.back_home": "Kembali ke beranda",
    # --- figures -------------------------------------------------------------------------
    "web.overview.menu": "Ikhtisar",
    "web.overview.title": "Ikhtisar semua OPD",
    "web.opd.menu": "OPD saya",
    "web.period": "Periode",
    "web.show": "Tampilkan",
    "web.ikm": "IKM",
    "web.grade": "Mutu",
    "web.grade.A": "Sangat Baik",
    "web.grade.B": "Baik",
    "web.grade.C": "Kurang Baik",
    "web.grade.D": "Tidak Baik",
    "web.unit": "Unit layanan",
    "web.respondents": "Responden",
    "web.respondents_n": "{n} responden",
    "web.minimum": "Minimal",
    "web.minimum_of": "minimal {n} (Krejcie-Morgan)",
    "web.below_minimum": "di bawah minimal",
    "web.silent_this_month": "Belum ada responden bulan ini",
    "web.inactive": "tidak aktif",
    "web.figures.note": "IKM dihitung persis seperti laporan SKM (PermenPANRB 14/2017). Minimal responden dari populasi (Krejcie-Morgan) bila populasi diketahui; poster menampilkan IKM mulai {minimum} responden.",
    "web.elements.title": "Nilai per unsur (NRR)",
    "web.element": "Unsur",
    "web.nrr": "NRR",
    "web.weakest": "Unsur terlemah:",
    "web.trend.title": "Tren per triwulan",
    "web.suggestions.title": "Saran ({n})",
    "web.suggestions.masked": "Nomor telepon, NIK, dan alamat e-mail disamarkan.",
    "web.suggestions.none": "Belum ada saran pada periode ini.",
    "web.complaints.title": "Pengaduan pada periode ini",
    "web.complaints.received": "Diterima",
    "web.complaints.overdue": "Lewat tenggat",
    "web.complaints.finished": "% selesai",
    "web.complaints.none": "Tidak ada pengaduan pada periode ini.",
    # --- downloads -----------------------------------------------------------------------
    "web.downloads.menu": "Unduh",
    "web.downloads.title": "Unduh laporan dan poster",
    "web.downloads.report": "Laporan SKM",
    "web.downloads.scope": "Cakupan",
    "web.downloads.all_opds": "Semua OPD (kabupaten)",
    "web.downloads.format": "Format berkas",
    "web.downloads.button": "Unduh laporan",
    "web.downloads.posters": "Poster QR per unit",
    "web.downloads.posters_intro": "Poster A4 dengan kode QR survei dan IKM triwulan terakhir.",
    "web.downloads.posters_off": "Poster belum tersedia: atur TELEGRAM_BOT_USERNAME atau WHATSAPP_NUMBER di server.",
    "web.downloads.error.period": "Periode tidak dikenali. Pilih dari daftar.",
    "web.downloads.error.opd": "OPD tidak dikenal. Pilih dari daftar.",
    "web.downloads.error.format": "Pilih format: XLSX, PDF, CSV, atau JSON.",
    "web.refused.poster_unavailable.title": "Poster belum tersedia",
    "web.refused.poster_unavailable": "Poster memerlukan nama bot Telegram atau nomor WhatsApp yang diatur di server.",
    # --- audit log -----------------------------------------------------------------------
    "web.audit.menu": "Log audit",
    "web.audit.title": "Log audit konsol",
    "web.audit.intro": "Setiap tindakan dan penolakan di konsol, terbaru di atas.",
    "web.audit.when": "Waktu",
    "web.audit.who": "Siapa",
    "web.audit.action": "Tindakan",
    "web.audit.target": "Sasaran",
    "web.audit.outcome": "Hasil",
    "web.audit.empty": "Belum ada catatan.",
}

_EN: dict[str, str] = {
    "web.title": "SKM Console",
    "web.skip": "Skip to content",
    "web.menu": "Menu",
    "web.signed_in_as": "Signed in as {name} ({role})",
    "web.role.admin": "Bagian Organisasi",
    "web.role.head": "OPD head",
    "web.role.officer": "OPD officer",
    "web.sign_out": "Sign out",
    "web.language_switch": "Bahasa Indonesia",
    "web.footer": "Community Satisfaction Survey (PermenPANRB 14/2017)",
    "web.signin.title": "Sign in to the SKM console",
    "web.signin.intro": "This link works only once. Press the button below to sign in.",
    "web.signin.button": "Sign in",
    "web.help.title": "How to sign in",
    "web.help.text": (
        "Registered OPD heads and officers: send MASUK (Telegram: /masuk) to the SKM bot. You "
        "will receive a sign-in link, valid for 10 minutes and for one use only."
    ),
    "web.help.admin": (
        "Bagian Organisasi: ask the server's operator for a link "
        "(command: skm-bot web login-link --admin NAME)."
    ),
    "web.signed_out.title": "You are signed out",
    "web.signed_out": "Your session has ended. Thank you.",
    "web.refused.not_signed_in.title": "Please sign in first",
    "web.refused.not_signed_in": "This page is for signed-in users only, or your session ended after a time without activity.",
    "web.refused.not_allowed.title": "Access refused",
    "web.refused.not_allowed": "Sorry, your role does not allow this page or action. Nothing was changed.",
    "web.refused.bad_form.title": "Form not valid",
    "web.refused.bad_form": "This form has expired or did not come from the SKM console. Nothing was changed. Please reload the page and try again.",
    "web.refused.link_unknown.title": "Unknown link",
    "web.refused.link_unknown": "This sign-in link is not known. Please ask for a new one.",
    "web.refused.link_expired.title": "Link expired",
    "web.refused.link_expired": "Sign-in links are valid for 10 minutes. Please ask for a new one.",
    "web.refused.link_used.title": "Link already used",
    "web.refused.link_used": "A sign-in link works only once. Please ask for a new one.",
    "web.refused.not_registered.title": "Not registered",
    "web.refused.not_registered": "Your registration is no longer active. Please contact the Bagian Organisasi.",
    "web.refused.not_found.title": "Page not found",
    "web.refused.not_found": "The page you are looking for does not exist.",
    "web.refused.bad_input.title": "Request not valid",
    "web.refused.bad_input": "What was sent is not valid. Nothing was changed.",
    "web.back_home": "Back to the home page",
    "web.overview.menu": "Overview",
    "web.overview.title": "Overview of every OPD",
    "web.opd.menu": "My OPD",
    "web.period": "Period",
    "web.show": "Show",
    "web.ikm": "IKM",
    "web.grade": "Grade",
    "web.grade.A": "Very good",
    "web.grade.B": "Good",
    "web.grade.C": "Poor",
    "web.grade.D": "Very poor",
    "web.unit": "Service unit",
    "web.respondents": "Respondents",
    "web.respondents_n": "{n} respondents",
    "web.minimum": "Minimum",
    "web.minimum_of": "minimum {n} (Krejcie-Morgan)",
    "web.below_minimum": "below the minimum",
    "web.silent_this_month": "No respondents yet this month",
    "web.inactive": "inactive",
    "web.figures.note": "The IKM is computed exactly as in the SKM report (PermenPANRB 14/2017). The minimum sample comes from the population (Krejcie-Morgan) when it is known; posters show the IKM from {minimum} respondents.",
    "web.elements.title": "Scores per element (NRR)",
    "web.element": "Element",
    "web.nrr": "NRR",
    "web.weakest": "Weakest elements:",
    "web.trend.title": "Trend per quarter",
    "web.suggestions.title": "Suggestions ({n})",
    "web.suggestions.masked": "Phone numbers, NIK and e-mail addresses are masked.",
    "web.suggestions.none": "No suggestions in this period.",
    "web.complaints.title": "Complaints in this period",
    "web.complaints.received": "Received",
    "web.complaints.overdue": "Overdue",
    "web.complaints.finished": "% finished",
    "web.complaints.none": "No complaints in this period.",
    "web.downloads.menu": "Downloads",
    "web.downloads.title": "Download reports and posters",
    "web.downloads.report": "SKM report",
    "web.downloads.scope": "Scope",
    "web.downloads.all_opds": "Every OPD (the regency)",
    "web.downloads.format": "File format",
    "web.downloads.button": "Download the report",
    "web.downloads.posters": "QR posters per unit",
    "web.downloads.posters_intro": "A4 posters with the survey's QR codes and the latest quarter's IKM.",
    "web.downloads.posters_off": "Posters are not available yet: set TELEGRAM_BOT_USERNAME or WHATSAPP_NUMBER on the server.",
    "web.downloads.error.period": "Period not recognised. Choose one from the list.",
    "web.downloads.error.opd": "Unknown OPD. Choose one from the list.",
    "web.downloads.error.format": "Choose a format: XLSX, PDF, CSV or JSON.",
    "web.refused.poster_unavailable.title": "Posters not available",
    "web.refused.poster_unavailable": "Posters need the Telegram bot's name or the WhatsApp number set on the server.",
    "web.audit.menu": "Audit log",
    "web.audit.title": "Console audit log",
    "web.audit.intro": "Every action and refusal in the console, newest first.",
    "web.audit.when": "When",
    "web.audit.who": "Who",
    "web.audit.action": "Action",
    "web.audit.target": "Target",
    "web.audit.outcome": "Outcome",
    "web.audit.empty": "Nothing recorded yet.",
}

WEB_MESSAGES: Final[dict[str, dict[str, str]]] = {"id": _ID, "en": _EN}


def web_text(language: str, key: str, **values: object) -> str:
    """The console text ``key`` in ``language`` (Indonesian when unknown)."""
    template = WEB_MESSAGES[normalise_language(language)][key]
    return template.format(**values) if values else template
