"""Message catalogues: every user-facing text, Bahasa Indonesia first, English second.

Keys are stable identifiers; placeholders use ``str.format`` names. A test checks that both
languages have the same keys and the same placeholders.
"""

from __future__ import annotations

from typing import Final

DEFAULT_LANGUAGE: Final = "id"
LANGUAGES: Final = ("id", "en")

_ID: dict[str, str] = {
    # --- main menu and general -----------------------------------------------------------
    "menu.welcome": (
        "Selamat datang di layanan Survei Kepuasan Masyarakat (SKM) {organisation}.\nSilakan pilih:"
    ),
    "menu.survey": "Isi survei kepuasan",
    "menu.language": "Bahasa / Language",
    "menu.help": "Bantuan",
    "help.text": (
        "Bantuan:\n"
        "• Pilih jawaban dengan menekan tombol atau mengetik nomornya.\n"
        "• Ketik KEMBALI untuk ke pertanyaan sebelumnya, BATAL untuk berhenti, "
        "ULANG untuk mengulang survei, MENU untuk menu utama, BAHASA untuk ganti bahasa.\n"
        "• Ketik HAPUS untuk menghapus data Anda.\n"
        "• Jawaban Anda bersifat anonim dan dipakai untuk memperbaiki layanan."
    ),
    "nav.back": "« Kembali",
    "nav.cancel": "Batal",
    "nav.next_page": "Berikutnya »",
    "nav.prev_page": "« Sebelumnya",
    "nav.skip": "Lewati",
    "nav.hint": "Ketik nomor pilihan. KEMBALI · BATAL · BANTUAN",
    "page.indicator": "(halaman {page} dari {pages})",
    # --- language --------------------------------------------------------------------------
    "language.prompt": "Pilih bahasa / Choose a language:",
    "language.id": "Bahasa Indonesia",
    "language.en": "English",
    "language.set": "Bahasa diganti ke Bahasa Indonesia.",
    # --- choosing a unit -------------------------------------------------------------------
    "opd.prompt": "Pilih instansi (OPD) yang melayani Anda:",
    "unit.prompt": "Pilih unit layanan di {opd}:",
    "unit.unknown": 'Maaf, unit dengan kode "{code}" tidak kami temukan. Silakan pilih dari daftar.',
    "unit.closed": "Maaf, {unit} sedang tidak menerima survei. Silakan pilih unit lain.",
    "unit.none": "Maaf, belum ada unit layanan yang menerima survei saat ini.",
    "survey.already": (
        "Terima kasih, Bapak/Ibu sudah mengisi survei untuk {unit} dalam {days} hari terakhir. "
        "Survei untuk unit ini dapat diisi lagi nanti."
    ),
    "survey.resume": "Anda sedang mengisi survei untuk {unit}. Silakan lanjutkan, atau ketik BATAL untuk berhenti.",
    "survey.already_today": (
        "Terima kasih, Bapak/Ibu sudah mengisi survei untuk {unit} hari ini. "
        "Survei untuk unit ini dapat diisi lagi besok."
    ),
    # --- consent (UU 27/2022) --------------------------------------------------------------
    "consent.notice": (
        "Sebelum mulai, mohon baca pemberitahuan singkat ini.\n"
        "• Tujuan: mengukur kepuasan atas layanan {unit} (PermenPANRB 14/2017).\n"
        "• Yang disimpan: jawaban Anda, tanpa nama dan tanpa nomor telepon. "
        "Jawaban disimpan dengan kode samaran.\n"
        "• Lama penyimpanan: sesuai jadwal retensi arsip {organisation}.\n"
        "• Hak Anda: meminta salinan atau penghapusan data kapan saja.\n"
        "Survei ini untuk responden berusia 17 tahun ke atas.\n"
        "Apakah Bapak/Ibu setuju?"
    ),
    "consent.agree": "Setuju",
    "consent.decline": "Tidak setuju",
    "consent.declined": "Baik, tidak ada jawaban yang kami simpan. Terima kasih atas waktunya.",
    # --- profile (SKM.md §1.3) -------------------------------------------------------------
    "profile.age.prompt": "Berapa usia Bapak/Ibu?",
    "profile.age.17-25": "17–25 tahun",
    "profile.age.26-35": "26–35 tahun",
    "profile.age.36-45": "36–45 tahun",
    "profile.age.46-55": "46–55 tahun",
    "profile.age.56+": "56 tahun ke atas",
    "profile.gender.prompt": "Jenis kelamin:",
    "profile.gender.L": "Laki-laki",
    "profile.gender.P": "Perempuan",
    "profile.education.prompt": "Pendidikan terakhir:",
    "profile.education.SD": "SD",
    "profile.education.SMP": "SMP",
    "profile.education.SMA": "SMA/SMK",
    "profile.education.D1-D3": "D1–D3",
    "profile.education.D4-S1": "D4/S1",
    "profile.education.S2": "S2",
    "profile.education.S3": "S3",
    "profile.occupation.prompt": "Pekerjaan utama:",
    "profile.occupation.PNS": "PNS",
    "profile.occupation.TNI": "TNI",
    "profile.occupation.POLRI": "POLRI",
    "profile.occupation.SWASTA": "Pegawai swasta",
    "profile.occupation.WIRAUSAHA": "Wirausaha",
    "profile.occupation.PELAJAR": "Pelajar/Mahasiswa",
    "profile.occupation.LAINNYA": "Lainnya",
    "service.prompt": "Jenis layanan apa yang Bapak/Ibu terima di {unit}?",
    # --- the nine questions (SKM.md §1.2; asked in this order, stored by code) ------------
    "question.progress": "Pertanyaan {n} dari {total}",
    "question.U1": (
        "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan "
        "dengan jenis pelayanannya?"
    ),
    "question.U2": "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
    "question.U3": "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
    "question.U4": "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
    "question.U5": (
        "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum "
        "dalam standar pelayanan dengan hasil yang diberikan?"
    ),
    "question.U6": "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
    "question.U7": (
        "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait "
        "kesopanan dan keramahan?"
    ),
    "question.U9": "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
    "question.U8": "Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
    "answer.U1.1": "Tidak sesuai",
    "answer.U1.2": "Kurang sesuai",
    "answer.U1.3": "Sesuai",
    "answer.U1.4": "Sangat sesuai",
    "answer.U2.1": "Tidak mudah",
    "answer.U2.2": "Kurang mudah",
    "answer.U2.3": "Mudah",
    "answer.U2.4": "Sangat mudah",
    "answer.U3.1": "Tidak cepat",
    "answer.U3.2": "Kurang cepat",
    "answer.U3.3": "Cepat",
    "answer.U3.4": "Sangat cepat",
    "answer.U4.1": "Sangat mahal",
    "answer.U4.2": "Cukup mahal",
    "answer.U4.3": "Murah",
    "answer.U4.4": "Gratis",
    "answer.U5.1": "Tidak sesuai",
    "answer.U5.2": "Kurang sesuai",
    "answer.U5.3": "Sesuai",
    "answer.U5.4": "Sangat sesuai",
    "answer.U6.1": "Tidak kompeten",
    "answer.U6.2": "Kurang kompeten",
    "answer.U6.3": "Kompeten",
    "answer.U6.4": "Sangat kompeten",
    "answer.U7.1": "Tidak sopan dan ramah",
    "answer.U7.2": "Kurang sopan dan ramah",
    "answer.U7.3": "Sopan dan ramah",
    "answer.U7.4": "Sangat sopan dan ramah",
    "answer.U9.1": "Buruk",
    "answer.U9.2": "Cukup",
    "answer.U9.3": "Baik",
    "answer.U9.4": "Sangat Baik",
    "answer.U8.1": "Tidak ada",
    "answer.U8.2": "Ada tetapi tidak berfungsi",
    "answer.U8.3": "Berfungsi kurang maksimal",
    "answer.U8.4": "Dikelola dengan baik",
    "element.U1": "Persyaratan",
    "element.U2": "Sistem, Mekanisme, dan Prosedur",
    "element.U3": "Waktu Penyelesaian",
    "element.U4": "Biaya/Tarif",
    "element.U5": "Produk Spesifikasi Jenis Pelayanan",
    "element.U6": "Kompetensi Pelaksana",
    "element.U7": "Perilaku Pelaksana",
    "element.U8": "Penanganan Pengaduan, Saran dan Masukan",
    "element.U9": "Sarana dan prasarana",
    # --- suggestion, summary, submit -------------------------------------------------------
    "suggestion.prompt": (
        "Ada saran atau masukan untuk {unit}? Silakan tulis (paling banyak {max} karakter), "
        "atau pilih Lewati."
    ),
    "suggestion.too_long": (
        "Maaf, saran Anda {length} karakter. Mohon diringkas menjadi paling banyak {max} karakter."
    ),
    "summary.title": "Ringkasan jawaban Anda untuk {unit}:",
    "summary.profile.age": "Usia",
    "summary.profile.gender": "Jenis kelamin",
    "summary.profile.education": "Pendidikan",
    "summary.profile.occupation": "Pekerjaan",
    "summary.service": "Jenis layanan",
    "summary.suggestion": "Saran",
    "summary.skipped": "(dilewati)",
    "summary.question": "Mohon periksa. Kirim jawaban ini?",
    "summary.submit": "Kirim",
    "summary.edit": "Ubah jawaban",
    "edit.prompt": "Jawaban mana yang ingin diubah?",
    "thanks": (
        "Terima kasih! Jawaban Bapak/Ibu untuk {unit} sudah kami terima. "
        "Masukan Anda membantu kami memperbaiki layanan."
    ),
    "cancelled": "Survei dibatalkan. Jawaban yang belum dikirim tidak disimpan.",
    "expired": (
        "Sesi survei sebelumnya sudah berakhir karena lama tidak ada jawaban. Silakan mulai lagi."
    ),
    "answered": "✓ {answer}",
    # --- erasure (UU 27/2022: the right to erasure) ----------------------------------------
    "erase.confirm": (
        "Hapus data Anda? Kami akan menghapus identitas akun Anda dan percakapan ini. "
        "Jawaban survei yang sudah terkirim tetap disimpan tanpa identitas (untuk statistik)."
    ),
    "erase.yes": "Ya, hapus",
    "erase.no": "Tidak",
    "erase.done": "Data Anda sudah dihapus. Terima kasih telah menggunakan layanan ini.",
    "erase.kept": "Baik, data Anda tidak dihapus.",
    # --- errors: short, polite re-prompts --------------------------------------------------
    "error.choose": "Maaf, pilihan itu tidak tersedia. Silakan pilih salah satu dari daftar.",
    "error.empty": "Maaf, pesan Anda kosong. Silakan pilih salah satu dari daftar.",
    "error.too_long": "Maaf, pesan terlalu panjang. Silakan pilih salah satu dari daftar.",
    "error.too_long_text": "Maaf, pesan terlalu panjang. Mohon diringkas.",
    "error.unsupported": "Maaf, saya hanya dapat membaca teks dan tombol pilihan.",
    "error.stale": "Tombol itu dari pertanyaan sebelumnya. Silakan jawab pertanyaan terbaru.",
    "error.text_empty": "Maaf, saran tidak boleh kosong. Tulis saran Anda, atau pilih Lewati.",
}

_EN: dict[str, str] = {
    "menu.welcome": (
        "Welcome to the Community Satisfaction Survey (SKM) of {organisation}.\nPlease choose:"
    ),
    "menu.survey": "Take the satisfaction survey",
    "menu.language": "Bahasa / Language",
    "menu.help": "Help",
    "help.text": (
        "Help:\n"
        "• Choose an answer by tapping a button or typing its number.\n"
        "• Type BACK for the previous question, CANCEL to stop, RESTART to start the survey "
        "again, MENU for the main menu, LANGUAGE to change language.\n"
        "• Type ERASE to erase your data.\n"
        "• Your answers are anonymous and used to improve the service."
    ),
    "nav.back": "« Back",
    "nav.cancel": "Cancel",
    "nav.next_page": "Next »",
    "nav.prev_page": "« Previous",
    "nav.skip": "Skip",
    "nav.hint": "Type the number of your choice. BACK · CANCEL · HELP",
    "page.indicator": "(page {page} of {pages})",
    "language.prompt": "Pilih bahasa / Choose a language:",
    "language.id": "Bahasa Indonesia",
    "language.en": "English",
    "language.set": "Language set to English.",
    "opd.prompt": "Choose the agency (OPD) that served you:",
    "unit.prompt": "Choose the service unit of {opd}:",
    "unit.unknown": 'Sorry, we could not find a unit with the code "{code}". Please choose from the list.',
    "unit.closed": "Sorry, {unit} is not taking surveys at the moment. Please choose another unit.",
    "unit.none": "Sorry, no service unit is taking surveys at the moment.",
    "survey.already": (
        "Thank you, you have already answered the survey for {unit} in the last {days} days. "
        "You can answer it again later."
    ),
    "survey.resume": "You are answering the survey for {unit}. Please continue, or type CANCEL to stop.",
    "survey.already_today": (
        "Thank you, you have already answered the survey for {unit} today. "
        "You can answer it again tomorrow."
    ),
    "consent.notice": (
        "Before we start, please read this short notice.\n"
        "• Purpose: to measure satisfaction with the service of {unit} (PermenPANRB 14/2017).\n"
        "• What we keep: your answers, without your name or phone number. "
        "Answers are stored under a pseudonym.\n"
        "• How long: according to the records retention schedule of {organisation}.\n"
        "• Your rights: ask for a copy or for erasure of your data at any time.\n"
        "This survey is for respondents aged 17 or over.\n"
        "Do you agree?"
    ),
    "consent.agree": "I agree",
    "consent.decline": "I do not agree",
    "consent.declined": "All right, none of your answers is kept. Thank you for your time.",
    "profile.age.prompt": "What is your age?",
    "profile.age.17-25": "17–25 years",
    "profile.age.26-35": "26–35 years",
    "profile.age.36-45": "36–45 years",
    "profile.age.46-55": "46–55 years",
    "profile.age.56+": "56 years or over",
    "profile.gender.prompt": "Sex:",
    "profile.gender.L": "Male",
    "profile.gender.P": "Female",
    "profile.education.prompt": "Highest education:",
    "profile.education.SD": "Primary (SD)",
    "profile.education.SMP": "Junior secondary (SMP)",
    "profile.education.SMA": "Senior secondary (SMA/SMK)",
    "profile.education.D1-D3": "Diploma (D1–D3)",
    "profile.education.D4-S1": "Bachelor (D4/S1)",
    "profile.education.S2": "Master (S2)",
    "profile.education.S3": "Doctorate (S3)",
    "profile.occupation.prompt": "Main occupation:",
    "profile.occupation.PNS": "Civil servant (PNS)",
    "profile.occupation.TNI": "Armed forces (TNI)",
    "profile.occupation.POLRI": "Police (POLRI)",
    "profile.occupation.SWASTA": "Private employee",
    "profile.occupation.WIRAUSAHA": "Self-employed",
    "profile.occupation.PELAJAR": "Student",
    "profile.occupation.LAINNYA": "Other",
    "service.prompt": "Which service did you receive at {unit}?",
    "question.progress": "Question {n} of {total}",
    "question.U1": "How well do the service requirements match the kind of service?",
    "question.U2": "How easy do you find the service procedure at this unit?",
    "question.U3": "How fast was the service delivered?",
    "question.U4": "How reasonable is the fee/tariff of the service?",
    "question.U5": (
        "How well does the service product you received match what the service standard states?"
    ),
    "question.U6": "How competent/capable were the staff in delivering the service?",
    "question.U7": "How polite and friendly were the staff in delivering the service?",
    "question.U9": "How good is the quality of the facilities and infrastructure?",
    "question.U8": "How are complaints from service users handled?",
    "answer.U1.1": "Not appropriate",
    "answer.U1.2": "Less appropriate",
    "answer.U1.3": "Appropriate",
    "answer.U1.4": "Very appropriate",
    "answer.U2.1": "Not easy",
    "answer.U2.2": "Less easy",
    "answer.U2.3": "Easy",
    "answer.U2.4": "Very easy",
    "answer.U3.1": "Not fast",
    "answer.U3.2": "Less fast",
    "answer.U3.3": "Fast",
    "answer.U3.4": "Very fast",
    "answer.U4.1": "Very expensive",
    "answer.U4.2": "Rather expensive",
    "answer.U4.3": "Cheap",
    "answer.U4.4": "Free",
    "answer.U5.1": "Not appropriate",
    "answer.U5.2": "Less appropriate",
    "answer.U5.3": "Appropriate",
    "answer.U5.4": "Very appropriate",
    "answer.U6.1": "Not competent",
    "answer.U6.2": "Less competent",
    "answer.U6.3": "Competent",
    "answer.U6.4": "Very competent",
    "answer.U7.1": "Not polite and friendly",
    "answer.U7.2": "Less polite and friendly",
    "answer.U7.3": "Polite and friendly",
    "answer.U7.4": "Very polite and friendly",
    "answer.U9.1": "Poor",
    "answer.U9.2": "Fair",
    "answer.U9.3": "Good",
    "answer.U9.4": "Very good",
    "answer.U8.1": "None",
    "answer.U8.2": "Exists but does not work",
    "answer.U8.3": "Works, but not fully",
    "answer.U8.4": "Well managed",
    "element.U1": "Requirements",
    "element.U2": "Systems, mechanisms and procedures",
    "element.U3": "Completion time",
    "element.U4": "Fees/tariffs",
    "element.U5": "Service product specification",
    "element.U6": "Staff competence",
    "element.U7": "Staff behaviour",
    "element.U8": "Handling of complaints, suggestions and feedback",
    "element.U9": "Facilities and infrastructure",
    "suggestion.prompt": (
        "Any suggestion or feedback for {unit}? Please write it (at most {max} characters), "
        "or choose Skip."
    ),
    "suggestion.too_long": (
        "Sorry, your suggestion has {length} characters. Please shorten it to at most {max}."
    ),
    "summary.title": "Summary of your answers for {unit}:",
    "summary.profile.age": "Age",
    "summary.profile.gender": "Sex",
    "summary.profile.education": "Education",
    "summary.profile.occupation": "Occupation",
    "summary.service": "Service",
    "summary.suggestion": "Suggestion",
    "summary.skipped": "(skipped)",
    "summary.question": "Please check. Send these answers?",
    "summary.submit": "Send",
    "summary.edit": "Change an answer",
    "edit.prompt": "Which answer would you like to change?",
    "thanks": (
        "Thank you! We have received your answers for {unit}. "
        "Your feedback helps us improve the service."
    ),
    "cancelled": "Survey cancelled. Answers not yet sent have not been kept.",
    "expired": "Your previous survey session ended after a long pause. Please start again.",
    "answered": "✓ {answer}",
    "erase.confirm": (
        "Erase your data? We will delete your account identity and this conversation. "
        "Survey answers already sent stay, without any identity (for statistics)."
    ),
    "erase.yes": "Yes, erase",
    "erase.no": "No",
    "erase.done": "Your data has been erased. Thank you for using this service.",
    "erase.kept": "All right, your data has not been erased.",
    "error.choose": "Sorry, that choice is not available. Please choose one from the list.",
    "error.empty": "Sorry, your message is empty. Please choose one from the list.",
    "error.too_long": "Sorry, that message is too long. Please choose one from the list.",
    "error.too_long_text": "Sorry, that message is too long. Please shorten it.",
    "error.unsupported": "Sorry, I can only read text and button choices.",
    "error.stale": "That button belongs to an earlier question. Please answer the latest one.",
    "error.text_empty": "Sorry, the suggestion is empty. Write your suggestion, or choose Skip.",
}

MESSAGES: Final[dict[str, dict[str, str]]] = {"id": _ID, "en": _EN}

# Words a citizen may type at any step, in either language, mapped to an action.
KEYWORDS: Final[dict[str, str]] = {
    "kembali": "back",
    "back": "back",
    "batal": "cancel",
    "cancel": "cancel",
    "stop": "cancel",
    "ulang": "restart",
    "restart": "restart",
    "menu": "menu",
    "mulai": "menu",
    "start": "menu",
    "bantuan": "help",
    "help": "help",
    "bahasa": "language",
    "language": "language",
    "survei": "survey",
    "survey": "survey",
    "hapus": "erase",
    "erase": "erase",
}


def normalise_language(language: str | None) -> str:
    """Map a platform language hint (``en-US``, ``id``) to a catalogue language."""
    if language and language.split("-")[0].lower() in LANGUAGES:
        return language.split("-")[0].lower()
    return DEFAULT_LANGUAGE


def text(language: str, key: str, **values: object) -> str:
    """The message ``key`` in ``language`` (falling back to Indonesian), filled in."""
    catalogue = MESSAGES.get(language, _ID)
    template = catalogue.get(key) or _ID[key]
    return template.format(**values) if values else template
