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
        "• Ketik ULANG untuk melihat pertanyaan terakhir lagi, KEMBALI untuk ke pertanyaan "
        "sebelumnya, BATAL untuk berhenti, MENU untuk menu utama, BAHASA untuk ganti bahasa.\n"
        "• Ketik PENGADUAN untuk menyampaikan pengaduan, STATUS untuk melihat pengaduan "
        "Bapak/Ibu.\n"
        "• Ketik HAPUS untuk menghapus akun, percakapan, dan isi pengaduan Bapak/Ibu. "
        "Pengaduan yang belum selesai boleh disimpan sampai selesai.\n"
        "• Jawaban survei disimpan tanpa nama, dengan kode samaran, dan dipakai untuk "
        "memperbaiki layanan. Setelah HAPUS, jawaban tidak dapat dikaitkan lagi dengan "
        "Bapak/Ibu."
    ),
    "nav.back": "« Kembali",
    "nav.cancel": "Batal",
    "nav.next_page": "Berikutnya »",
    "nav.prev_page": "« Sebelumnya",
    "nav.skip": "Lewati",
    "nav.hint": "Ketik nomor pilihan. KEMBALI · BATAL · BANTUAN",
    # Hints per step kind (issue 14, item 9): free text is not "a number of a choice".
    "nav.hint.text": "Tulis pesan Bapak/Ibu. KEMBALI · BATAL · BANTUAN",
    "nav.hint.photo": "Kirim foto atau pilih Lanjut. KEMBALI · BATAL · BANTUAN",
    "nav.hint.location": "Kirim lokasi atau ketik nama tempat. KEMBALI · BATAL",
    "nav.hint.age": "Ketik usia (misalnya 30) atau nomor pilihan. KEMBALI · BATAL",
    "help.contact": "• Untuk berbicara dengan petugas {opd}: {contact}.",
    "help.counter": (
        "• Untuk berbicara langsung dengan petugas, silakan datang ke loket unit layanan "
        "yang bersangkutan."
    ),
    "error.not_understood": (
        "Maaf, pesan Bapak/Ibu belum kami pahami. Silakan pilih salah satu menu di bawah ini."
    ),
    "error.choose.range": (
        "Maaf, pilihan itu tidak tersedia. Silakan ketik angka 1–{n} atau pilih dari daftar."
    ),
    "age.under_17": (
        "Mohon maaf, survei ini ditujukan bagi responden dewasa, berusia 17 tahun ke atas. "
        "Bila usia Bapak/Ibu 17 tahun ke atas, silakan ketik usia yang benar; bila belum, "
        "terima kasih atas perhatiannya, silakan ketik BATAL."
    ),
    "age.out_of_range": (
        "Maaf, usia itu tidak dapat kami baca. Silakan ketik usia dalam tahun (misalnya 30) "
        "atau angka 1–{n}."
    ),
    "complaint.desc.empty": (
        "Maaf, uraian laporan tidak boleh kosong. Mohon ceritakan apa yang terjadi."
    ),
    "complaint.location.too_long": (
        "Maaf, nama tempat terlalu panjang. Mohon diringkas, paling banyak {max} karakter."
    ),
    "complaint.status.malformed": (
        "Maaf, nomor tiket itu tidak dapat kami baca. Nomor tiket berbentuk ADU-XXXX-XXXX, "
        "misalnya ADU-7K3M-Q9XP."
    ),
    "page.indicator": "(halaman {page} dari {pages})",
    # --- language --------------------------------------------------------------------------
    "language.prompt": "Pilih bahasa / Choose a language:",
    "language.id": "Bahasa Indonesia",
    "language.en": "English",
    "language.set": "Bahasa diganti ke Bahasa Indonesia.",
    # --- choosing a unit -------------------------------------------------------------------
    "opd.prompt": "Pilih instansi (OPD) yang melayani Bapak/Ibu:",
    "unit.prompt": "Pilih unit layanan di {opd}:",
    "unit.unknown": 'Maaf, unit dengan kode "{code}" tidak kami temukan. Silakan pilih dari daftar.',
    "unit.closed": "Maaf, {unit} sedang tidak menerima survei. Silakan pilih unit lain.",
    "unit.none": "Maaf, belum ada unit layanan yang menerima survei saat ini.",
    "survey.already": (
        "Terima kasih, Bapak/Ibu sudah mengisi survei untuk {unit} dalam {days} hari terakhir. "
        "Survei untuk unit ini dapat diisi lagi nanti."
    ),
    "survey.resume": "Bapak/Ibu sedang mengisi survei untuk {unit}. Silakan lanjutkan, atau ketik BATAL untuk berhenti.",
    "survey.already_today": (
        "Terima kasih, Bapak/Ibu sudah mengisi survei untuk {unit} hari ini. "
        "Survei untuk unit ini dapat diisi lagi besok."
    ),
    # --- consent (UU 27/2022) --------------------------------------------------------------
    "consent.notice": (
        "Sebelum mulai, mohon baca pemberitahuan singkat ini.\n"
        "• Tujuan: mengukur kepuasan Bapak/Ibu terhadap {unit} (PermenPANRB 14/2017).\n"
        "• Isi: {questions} pertanyaan, ± {minutes} menit; data diri boleh dilewati.\n"
        "• Yang disimpan: jawaban Bapak/Ibu dengan kode samaran, tanpa nama dan nomor "
        "telepon. Akun chat Bapak/Ibu disimpan terpisah untuk membalas pesan.\n"
        "• Lama penyimpanan: jawaban untuk statistik sesuai jadwal retensi arsip "
        "{organisation}; pesan dan pengaduan dihapus otomatis setelah masa simpannya.\n"
        "• Hak Bapak/Ibu: meminta penghapusan data kapan saja (ketik HAPUS). Akun, "
        "percakapan, dan isi pengaduan dihapus; jawaban tetap dihitung tanpa dapat "
        "dikaitkan dengan Bapak/Ibu.\n"
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
    # Plain-language hints shown under the regulation's wording, never instead of it.
    "question.U5.hint": "(Produk pelayanan: hasil yang Bapak/Ibu terima, misalnya KTP, surat, atau izin.)",
    "question.U8.hint": "(Misalnya kotak saran, nomor pengaduan, petugas pengaduan di unit ini.)",
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
    "cut.suggestion": (
        "Saran Bapak/Ibu {length} karakter, lebih dari batas {max} karakter. Kami dapat "
        "menyimpan {max} karakter pertama; {cut} karakter terakhir tidak ikut, mulai dari: "
        "“{rest}…”\nSimpan yang sudah dipotong, atau ketik ulang?"
    ),
    "cut.complaint": (
        "Uraian Bapak/Ibu {length} karakter, lebih dari batas {max} karakter. Kami dapat "
        "menyimpan {max} karakter pertama; {cut} karakter terakhir tidak ikut, mulai dari: "
        "“{rest}…”\nSimpan yang sudah dipotong, atau ketik ulang?"
    ),
    "cut.keep": "Simpan yang dipotong",
    "cut.retype": "Ketik ulang",
    "summary.title": "Ringkasan jawaban Bapak/Ibu untuk {unit}:",
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
        "Masukan Bapak/Ibu membantu kami memperbaiki layanan."
    ),
    # --- "you said, we did" (docs/rtl.md) --------------------------------------------------
    "menu.followup": "🔔 Kabari tindak lanjut",
    "followup.opted_in": (
        "Baik. Bila unit ini selesai melakukan perbaikan dari hasil survei triwulan ini, kami "
        "kabari sekali lewat chat ini. Ketik BERHENTI bila tidak ingin lagi."
    ),
    "followup.opted_out": "Baik, Bapak/Ibu tidak akan menerima kabar tindak lanjut lagi.",
    "followup.done": (
        'Kabar tindak lanjut survei: {unit} telah memperbaiki unsur "{element}": {action}\n'
        "Terima kasih atas masukan Bapak/Ibu. Ketik BERHENTI bila tidak ingin kabar lagi."
    ),
    "cancelled": "Survei dibatalkan. Jawaban yang belum dikirim tidak disimpan.",
    "leave.skm": (
        "Bapak/Ibu sedang mengisi survei untuk {unit}. Bila keluar sekarang, jawaban yang belum "
        "dikirim tidak disimpan. Keluar dari survei?"
    ),
    "leave.complaint": (
        "Bapak/Ibu sedang menyampaikan laporan untuk {unit}. Bila keluar sekarang, isian yang "
        "belum dikirim tidak disimpan. Keluar dari laporan ini?"
    ),
    "leave.yes": "Ya, keluar",
    "leave.no": "Tidak, lanjutkan",
    "expired": (
        "Sesi survei sebelumnya sudah berakhir karena lama tidak ada jawaban. Silakan mulai lagi."
    ),
    "answered": "✓ {answer}",
    # --- dates (survey_flows.dates: "Rabu, 9 Desember 2026") ---------------------------
    "date.day.0": "Senin",
    "date.day.1": "Selasa",
    "date.day.2": "Rabu",
    "date.day.3": "Kamis",
    "date.day.4": "Jumat",
    "date.day.5": "Sabtu",
    "date.day.6": "Minggu",
    "date.month.1": "Januari",
    "date.month.2": "Februari",
    "date.month.3": "Maret",
    "date.month.4": "April",
    "date.month.5": "Mei",
    "date.month.6": "Juni",
    "date.month.7": "Juli",
    "date.month.8": "Agustus",
    "date.month.9": "September",
    "date.month.10": "Oktober",
    "date.month.11": "November",
    "date.month.12": "Desember",
    # --- complaints (pengaduan) -----------------------------------------------------------
    "menu.complaint": "Sampaikan pengaduan",
    "menu.status": "Cek status pengaduan",
    "complaint.kind.prompt": (
        "Laporan untuk {unit}.\n"
        "Identitas Bapak/Ibu hanya dipakai untuk memberi kabar tindak lanjut dan dapat disembunyikan "
        "dari unit. Pilih jenis laporan:"
    ),
    "complaint.kind.pengaduan": "Pengaduan",
    "complaint.kind.aspirasi": "Aspirasi",
    "complaint.kind.informasi": "Permintaan informasi",
    "complaint.desc.prompt": (
        "Ceritakan masalahnya: apa yang terjadi, kapan, dan di mana "
        "(paling sedikit {min}, paling banyak {max} karakter)."
    ),
    "complaint.desc.too_short": "Mohon ceritakan sedikit lebih rinci agar dapat ditindaklanjuti.",
    "complaint.photo.prompt": "Kirim foto pendukung bila ada (boleh lebih dari satu), lalu pilih Lanjut.",
    "complaint.photo.received": "Foto diterima ({count}).",
    "complaint.photo.too_many": "Maaf, foto sudah cukup banyak. Silakan pilih Lanjut.",
    "complaint.next": "Lanjut",
    "complaint.location.prompt": "Kirim lokasi kejadian bila perlu (fitur lokasi di aplikasi) atau ketik nama tempatnya. Bila tidak perlu, pilih Lewati.",
    "complaint.anon.prompt": "Sembunyikan identitas Bapak/Ibu dari unit layanan (anonim)?",
    "complaint.secret.prompt": "Rahasiakan isi pengaduan (tidak dipublikasikan)?",
    "complaint.yes": "Ya",
    "complaint.no": "Tidak",
    "complaint.again": "Ulangi dari awal",
    "complaint.summary.title": "Ringkasan laporan untuk {unit}:",
    "complaint.summary.kind": "Jenis",
    "complaint.summary.desc": "Uraian",
    "complaint.summary.photos": "Foto",
    "complaint.summary.location": "Lokasi",
    "complaint.summary.anon": "Anonim",
    "complaint.summary.secret": "Rahasia",
    "complaint.summary.photo_count": "{count} foto",
    "complaint.summary.none": "tidak ada",
    "complaint.summary.not_sent": "tidak dikirim",
    "complaint.summary.question": "Mohon periksa. Kirim laporan ini?",
    "complaint.filed": (
        "Laporan Bapak/Ibu ({kind}) untuk {unit} sudah kami terima.\n"
        "Nomor tiket: {ticket}\n"
        "Batas verifikasi: {verify_by}\n"
        "Batas tanggapan unit: {answer_by}\n"
        "Simpan nomor tiket ini. Ketik STATUS {ticket} untuk melihat perkembangannya."
    ),
    "complaint.cancelled": "Laporan dibatalkan. Tidak ada yang dikirim.",
    "complaint.status.unknown": "Maaf, tiket {ticket} tidak ditemukan di antara pengaduan Bapak/Ibu.",
    "complaint.status.one": (
        "Tiket {ticket} ({unit})\nStatus: {status}\nDiterima: {filed}\n"
        "Batas verifikasi: {verify_by}\nBatas tanggapan: {answer_by}"
    ),
    "complaint.status.answer": "Tanggapan unit:\n{answer}",
    "complaint.status.none": "Bapak/Ibu belum pernah menyampaikan pengaduan.",
    "complaint.status.list": "Laporan Bapak/Ibu:",
    "complaint.state.DITERIMA": "Diterima",
    "complaint.state.DIVERIFIKASI": "Diverifikasi",
    "complaint.state.DITINDAKLANJUTI": "Ditindaklanjuti",
    "complaint.state.SELESAI": "Selesai",
    "complaint.state.DITOLAK": "Ditolak",
    "complaint.state.DIARSIPKAN": "Diarsipkan",
    "complaint.reason.bukan_kewenangan": "Bukan kewenangan unit ini",
    "complaint.reason.tidak_lengkap": "Informasi belum lengkap",
    "complaint.reason.bukan_pengaduan": "Bukan pengaduan",
    "complaint.notify.DIVERIFIKASI": "Laporan {ticket} sudah diverifikasi dan sedang ditindaklanjuti oleh {unit}.",
    "complaint.notify.DITINDAKLANJUTI": "Tanggapan {unit} atas laporan {ticket}:\n{note}",
    "complaint.notify.SELESAI": "Laporan {ticket} dinyatakan selesai oleh {unit}.",
    "complaint.notify.DITOLAK": "Mohon maaf, laporan {ticket} tidak dapat diproses: {note}.",
    "complaint.notify.DIARSIPKAN": "Laporan {ticket} sudah diarsipkan.",
    "complaint.rate.prompt": "Apakah laporan {ticket} ditangani dengan baik? Bila belum, Bapak/Ibu dapat membukanya kembali sampai {until}.",
    "complaint.rate.good": "Ya, baik",
    "complaint.rate.poor": "Kurang baik",
    "complaint.rate.reopen": "Buka kembali",
    "complaint.rate.thanks": "Terima kasih atas penilaian Bapak/Ibu.",
    "complaint.rate.already": "Penilaian untuk laporan ini sudah tercatat. Terima kasih.",
    "complaint.reopened": "Laporan {ticket} dibuka kembali dan akan ditindaklanjuti lagi.",
    "complaint.error.reopen_late": "Maaf, batas waktu untuk membuka kembali pengaduan ini sudah lewat.",
    "complaint.error.state": "Tindakan itu tidak berlaku untuk status pengaduan saat ini.",
    "complaint.error.forbidden": "Maaf, Anda tidak berwenang menangani pengaduan ini.",
    "complaint.error.reason": "Pilih alasan penolakan dari daftar.",
    "complaint.error.answer_empty": "Tanggapan tidak boleh kosong.",
    "officer.answer.too_long": "Tanggapan untuk {ticket} terlalu panjang ({length} karakter; paling banyak {max}). Mohon diringkas atau dibagi menjadi beberapa tanggapan; belum ada yang dikirim kepada pelapor.",
    # --- officers ----------------------------------------------------------------------------
    "officer.new": (
        "Pengaduan baru {ticket} untuk {unit}\nJenis: {kind}\nPelapor: {reporter}\n"
        "Batas verifikasi: {verify_by}\n\n{description}"
    ),
    "officer.reporter.anonymous": "anonim (identitas disembunyikan)",
    "officer.reporter.known": "warga melalui {channel}",
    "officer.photos": "Lampiran: {count} foto.",
    "officer.location": "Lokasi: {lat}, {lon}",
    "officer.verify": "Verifikasi",
    "officer.answer": "Tanggapi",
    "officer.reject": "Tolak",
    "officer.finish": "Selesai",
    "officer.answer.how": "Balas (reply) pesan pengaduan {ticket} dengan tanggapan Anda, atau ketik: TANGGAPI {ticket} <tanggapan>",
    "officer.reject.why": "Alasan penolakan {ticket}:",
    "officer.done": "Tiket {ticket} sekarang berstatus {status}.",
    "officer.not_yours": "Maaf, tiket {ticket} tidak ditemukan atau Anda tidak berwenang menanganinya.",
    "officer.not_staff": "Mohon maaf, Bapak/Ibu, perintah ini hanya untuk petugas pengaduan yang terdaftar. Ketik MENU untuk melihat layanan yang tersedia.",
    "officer.answer.officers_only": "Tanggapan kepada pelapor diberikan oleh petugas. Mohon teruskan pengaduan {ticket} kepada {count} petugas OPD Anda; Anda tetap dapat memverifikasi, menolak, atau menyelesaikannya.",
    "officer.usage": "Perintah petugas (dengan atau tanpa garis miring): TANGGAPI <tiket> <tanggapan>, VERIFIKASI <tiket>, SELESAI <tiket>, TOLAK <tiket>, atau gunakan tombol pada pesan pengaduan.",
    "officer.remind": "Pengingat: pengaduan {ticket} ({unit}) harus {stage} paling lambat {due}.",
    "officer.escalate": "Eskalasi: pengaduan {ticket} ({unit}) melewati batas {stage} ({due}). Status: {status}.",
    "officer.reopened": "Pengaduan {ticket} ({unit}) dibuka kembali oleh pelapor.",
    "officer.stage.verify": "diverifikasi",
    "officer.stage.answer": "ditanggapi",
    # --- weekly digest for OPD heads -------------------------------------------------------
    "digest.title": "Ringkasan mingguan SKM: {opd}",
    "digest.week": "{label}",
    "digest.week_label": "Minggu ke-{week} {year} ({start} s.d. {end})",
    "digest.late": "(Dikirim terlambat pada {date} karena layanan sempat berhenti.)",
    "digest.empty": (
        "Minggu ini belum ada responden survei maupun pengaduan. Mohon pastikan poster QR survei "
        "terpasang di setiap loket (cetak dengan: skm-bot poster)."
    ),
    "digest.respondents": "Responden: {count} (minggu lalu {last}, {change})",
    "digest.unit": "• {unit}: {count} responden, IKM {ikm} ({mutu}, {kinerja}){trend}",
    "digest.unit_few": "• {unit}: {count} responden, terlalu sedikit untuk indeks yang stabil (minimal {minimum})",
    "digest.unit_none": "• {unit}: belum ada responden",
    "digest.weakest": "Unsur terlemah: {elements}",
    "digest.complaints": "Pengaduan: {received} diterima minggu ini, {open} belum selesai, {overdue} lewat batas waktu",
    "digest.rtl_overdue": "Rencana tindak lanjut (RTL) lewat tenggat: {count} butir. Mohon diperbarui di konsol.",
    "digest.suggestions": "Saran terbaru:",
    "digest.chart.units": "IKM per unit",
    "digest.chart.elements": "Nilai unsur (1-4)",
    "digest.chart.trend": "Tren IKM 8 minggu",
    "digest.caption": "Grafik SKM {opd}, {label}",
    "digest.summary": "{label}: {count} responden, IKM {ikm}, {open} pengaduan belum selesai. Balas pesan ini untuk menerima ringkasan lengkap.",
    "digest.not_registered": "Maaf, ringkasan hanya untuk pimpinan dan petugas OPD yang terdaftar.",
    # --- the web console's sign-in link (/masuk) ---------------------------------------------
    "web.login_link": (
        "Tautan masuk Konsol SKM (sekali pakai, berlaku {minutes} menit):\n{url}\n"
        "Jangan teruskan tautan ini kepada siapa pun."
    ),
    "web.not_registered": (
        "Maaf, Konsol SKM hanya untuk pimpinan dan petugas OPD yang terdaftar. "
        "Silakan hubungi Bagian Organisasi."
    ),
    # --- erasure (UU 27/2022: the right to erasure) ----------------------------------------
    "erase.confirm": (
        "Hapus data Bapak/Ibu? Kami akan menghapus identitas akun, percakapan, dan isi "
        "pengaduan Bapak/Ibu. Jawaban survei tetap dihitung untuk statistik, tetapi tidak "
        "dapat lagi dikaitkan dengan Bapak/Ibu."
    ),
    "erase.yes": "Ya, hapus",
    "erase.no": "Tidak",
    "erase.done": "Data Bapak/Ibu sudah dihapus. Terima kasih telah menggunakan layanan ini.",
    "erase.kept": "Baik, data Bapak/Ibu tidak dihapus.",
    "erase.confirm_open": (
        "Bapak/Ibu masih memiliki pengaduan yang belum selesai. Silakan pilih:\n"
        "• Hapus sekarang: semua data dihapus, termasuk isi pengaduan. Unit tidak dapat lagi "
        "mengirim jawaban kepada Bapak/Ibu.\n"
        "• Simpan pengaduan: data lain dihapus sekarang. Nomor akun dan isi pengaduan "
        "disimpan sampai pengaduan selesai, lalu dihapus otomatis.\n"
        "Jawaban survei tetap dihitung untuk statistik tanpa dapat dikaitkan dengan Bapak/Ibu."
    ),
    "erase.now": "Hapus sekarang",
    "erase.keep": "Simpan pengaduan",
    "erase.done_now": (
        "Data Bapak/Ibu sudah dihapus, termasuk isi pengaduan. Unit tidak dapat lagi "
        "menghubungi Bapak/Ibu tentang pengaduan tersebut. Terima kasih."
    ),
    "erase.done_keep": (
        "Data Bapak/Ibu sudah dihapus, kecuali yang diperlukan pengaduan yang belum selesai. "
        "Bapak/Ibu tetap menerima jawaban unit dan dapat mengecek STATUS. Setelah pengaduan "
        "selesai, data itu dihapus otomatis."
    ),
    # --- per-citizen limits (answered once per episode, counted in /metrics) ---------------
    "limit.messages": (
        "Mohon maaf, pesan Bapak/Ibu terlalu banyak dalam waktu singkat. Pesan yang terlalu "
        "cepat tidak kami proses. Mohon tunggu sebentar, lalu kirim lagi."
    ),
    "limit.status": (
        "Mohon maaf, pengecekan status terlalu sering. Silakan coba lagi beberapa menit lagi."
    ),
    "limit.complaints": (
        "Mohon maaf, Bapak/Ibu sudah menyampaikan {count} pengaduan hari ini, batas per hari. "
        "Silakan sampaikan lagi besok, atau datangi unit layanan langsung."
    ),
    # --- errors: short, polite re-prompts --------------------------------------------------
    "error.choose": "Maaf, pilihan itu tidak tersedia. Silakan pilih salah satu dari daftar.",
    "error.empty": "Maaf, pesan Bapak/Ibu kosong. Silakan pilih salah satu dari daftar.",
    "error.too_long": "Maaf, pesan terlalu panjang. Silakan pilih salah satu dari daftar.",
    "error.too_long_text": "Maaf, pesan terlalu panjang. Mohon diringkas.",
    "error.unsupported": "Maaf, saya hanya dapat membaca teks dan tombol pilihan.",
    "error.stale": "Tombol itu dari pertanyaan sebelumnya. Silakan jawab pertanyaan terbaru.",
    "error.text_empty": "Maaf, saran tidak boleh kosong. Tulis saran Bapak/Ibu, atau pilih Lewati.",
    # --- Telegram's command menu (survey_flows.commands.menu) ------------------------------
    "command.start": "Mulai / menu utama",
    "command.survei": "Isi survei kepuasan",
    "command.pengaduan": "Sampaikan pengaduan",
    "command.status": "Status pengaduan saya",
    "command.bahasa": "Ganti bahasa",
    "command.batal": "Batalkan survei",
    "command.bantuan": "Bantuan",
    "command.hapus": "Hapus data saya",
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
        "• Type REPEAT to see the last question again, BACK for the previous question, "
        "CANCEL to stop, MENU for the main menu, LANGUAGE to change language.\n"
        "• Type COMPLAINT to file a complaint, STATUS to see your complaints.\n"
        "• Type ERASE to erase your account, the conversation and your complaints' content. "
        "An unfinished complaint may be kept until it is finished.\n"
        "• Survey answers are kept without your name, under a pseudonym, and used to improve "
        "the service. After ERASE they can no longer be linked to you."
    ),
    "nav.back": "« Back",
    "nav.cancel": "Cancel",
    "nav.next_page": "Next »",
    "nav.prev_page": "« Previous",
    "nav.skip": "Skip",
    "nav.hint": "Type the number of your choice. BACK · CANCEL · HELP",
    "nav.hint.text": "Type your message. BACK · CANCEL · HELP",
    "nav.hint.photo": "Send a photo or choose Continue. BACK · CANCEL · HELP",
    "nav.hint.location": "Send a location or type the place. BACK · CANCEL",
    "nav.hint.age": "Type your age (e.g. 30) or a choice number. BACK · CANCEL",
    "help.contact": "• To speak with a person at {opd}: {contact}.",
    "help.counter": "• To speak with a person, please visit the service unit's counter.",
    "error.not_understood": (
        "Sorry, we did not understand your message. Please choose one of the options below."
    ),
    "error.choose.range": (
        "Sorry, that choice is not available. Please type a number from 1 to {n} or choose "
        "from the list."
    ),
    "age.under_17": (
        "We are sorry, this survey is for adult respondents, aged 17 or over. If you are 17 or "
        "over, please type your correct age; if not, thank you for your interest, please type "
        "CANCEL."
    ),
    "age.out_of_range": (
        "Sorry, we could not read that age. Please type your age in years (e.g. 30) or a "
        "number from 1 to {n}."
    ),
    "complaint.desc.empty": (
        "Sorry, the description of your report must not be empty. Please tell us what happened."
    ),
    "complaint.location.too_long": (
        "Sorry, the place name is too long. Please shorten it to at most {max} characters."
    ),
    "complaint.status.malformed": (
        "Sorry, we could not read that ticket number. Ticket numbers look like ADU-XXXX-XXXX, "
        "for example ADU-7K3M-Q9XP."
    ),
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
        "• Purpose: to measure your satisfaction with {unit} (PermenPANRB 14/2017).\n"
        "• Length: {questions} questions, about {minutes} minutes; details about you are optional.\n"
        "• What we keep: your answers under a pseudonym, without your name or phone "
        "number. Your chat account is kept separately, to reply to you.\n"
        "• How long: answers for the statistics, per the records retention schedule of "
        "{organisation}; messages and complaints are erased automatically after their "
        "retention period.\n"
        "• Your rights: ask for erasure at any time (type ERASE). Your account, the "
        "conversation and your complaints' content are erased; answers still count, but can "
        "no longer be linked to you.\n"
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
    "profile.gender.prompt": "Your gender:",
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
    "question.U5.hint": "(The service product: what you received, e.g. an ID card, a letter or a permit.)",
    "question.U8.hint": "(For example a suggestion box, a complaint number, a complaints officer at this unit.)",
    "answer.U1.1": "Not appropriate",
    "answer.U1.2": "Not very appropriate",
    "answer.U1.3": "Appropriate",
    "answer.U1.4": "Very appropriate",
    "answer.U2.1": "Not easy",
    "answer.U2.2": "Not very easy",
    "answer.U2.3": "Easy",
    "answer.U2.4": "Very easy",
    "answer.U3.1": "Not fast",
    "answer.U3.2": "Not very fast",
    "answer.U3.3": "Fast",
    "answer.U3.4": "Very fast",
    "answer.U4.1": "Very expensive",
    "answer.U4.2": "Rather expensive",
    "answer.U4.3": "Cheap",
    "answer.U4.4": "Free",
    "answer.U5.1": "Not appropriate",
    "answer.U5.2": "Not very appropriate",
    "answer.U5.3": "Appropriate",
    "answer.U5.4": "Very appropriate",
    "answer.U6.1": "Not competent",
    "answer.U6.2": "Not very competent",
    "answer.U6.3": "Competent",
    "answer.U6.4": "Very competent",
    "answer.U7.1": "Neither polite nor friendly",
    "answer.U7.2": "Not very polite and friendly",
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
    "cut.suggestion": (
        "Your suggestion has {length} characters, more than the limit of {max}. We can keep "
        "the first {max}; the last {cut} characters would be left out, starting with: "
        "“{rest}…”\nKeep the shortened text, or type it again?"
    ),
    "cut.complaint": (
        "Your description has {length} characters, more than the limit of {max}. We can keep "
        "the first {max}; the last {cut} characters would be left out, starting with: "
        "“{rest}…”\nKeep the shortened text, or type it again?"
    ),
    "cut.keep": "Keep shortened",
    "cut.retype": "Type it again",
    "summary.title": "Summary of your answers for {unit}:",
    "summary.profile.age": "Age",
    "summary.profile.gender": "Gender",
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
    # --- "you said, we did" (docs/rtl.md) --------------------------------------------------
    "menu.followup": "🔔 Tell me what's done",
    "followup.opted_in": (
        "All right. When this unit completes an improvement from this quarter's survey, we "
        "will tell you once in this chat. Type UNSUBSCRIBE to stop."
    ),
    "followup.opted_out": "All right, you will get no more follow-up news.",
    "followup.done": (
        'Survey follow-up: {unit} has improved "{element}": {action}\n'
        "Thank you for your feedback. Type UNSUBSCRIBE to get no more news."
    ),
    "cancelled": "Survey cancelled. Answers not yet sent have not been kept.",
    "leave.skm": (
        "You are answering the survey for {unit}. If you leave now, answers not yet sent are "
        "not kept. Leave the survey?"
    ),
    "leave.complaint": (
        "You are filing a report about {unit}. If you leave now, what you entered is not "
        "kept. Leave this report?"
    ),
    "leave.yes": "Yes, leave",
    "leave.no": "No, continue",
    "expired": "Your previous survey session ended after a long pause. Please start again.",
    "answered": "✓ {answer}",
    "date.day.0": "Monday",
    "date.day.1": "Tuesday",
    "date.day.2": "Wednesday",
    "date.day.3": "Thursday",
    "date.day.4": "Friday",
    "date.day.5": "Saturday",
    "date.day.6": "Sunday",
    "date.month.1": "January",
    "date.month.2": "February",
    "date.month.3": "March",
    "date.month.4": "April",
    "date.month.5": "May",
    "date.month.6": "June",
    "date.month.7": "July",
    "date.month.8": "August",
    "date.month.9": "September",
    "date.month.10": "October",
    "date.month.11": "November",
    "date.month.12": "December",
    "menu.complaint": "File a complaint",
    "menu.status": "Check a complaint",
    "complaint.kind.prompt": (
        "Report about {unit}.\n"
        "Your identity is used only to keep you informed and can be hidden from the unit. "
        "Choose the kind of report:"
    ),
    "complaint.kind.pengaduan": "Complaint",
    "complaint.kind.aspirasi": "Suggestion or aspiration",
    "complaint.kind.informasi": "Request for information",
    "complaint.desc.prompt": (
        "Describe the problem: what happened, when and where "
        "(at least {min}, at most {max} characters)."
    ),
    "complaint.desc.too_short": "Please describe it in a little more detail so it can be followed up.",
    "complaint.photo.prompt": "Send supporting photos if you have any (several are fine), then choose Continue.",
    "complaint.photo.received": "Photo received ({count}).",
    "complaint.photo.too_many": "Sorry, that is enough photos. Please choose Continue.",
    "complaint.next": "Continue",
    "complaint.location.prompt": "Send the location if useful (your app's location feature) or type the place's name. If not needed, choose Skip.",
    "complaint.anon.prompt": "Hide your identity from the service unit (anonymous)?",
    "complaint.secret.prompt": "Keep the content confidential (not published)?",
    "complaint.yes": "Yes",
    "complaint.no": "No",
    "complaint.again": "Start over",
    "complaint.summary.title": "Summary of your report about {unit}:",
    "complaint.summary.kind": "Kind",
    "complaint.summary.desc": "Description",
    "complaint.summary.photos": "Photos",
    "complaint.summary.location": "Location",
    "complaint.summary.anon": "Anonymous",
    "complaint.summary.secret": "Confidential",
    "complaint.summary.photo_count": "{count} photo(s)",
    "complaint.summary.none": "none",
    "complaint.summary.not_sent": "not sent",
    "complaint.summary.question": "Please check. Send this report?",
    "complaint.filed": (
        "We have received your report ({kind}) about {unit}.\n"
        "Ticket number: {ticket}\n"
        "Verification due: {verify_by}\n"
        "Unit's answer due: {answer_by}\n"
        "Keep this number. Type STATUS {ticket} to follow it."
    ),
    "complaint.cancelled": "Report cancelled. Nothing was sent.",
    "complaint.status.unknown": "Sorry, ticket {ticket} is not among your complaints.",
    "complaint.status.one": (
        "Ticket {ticket} ({unit})\nStatus: {status}\nReceived: {filed}\n"
        "Verification due: {verify_by}\nAnswer due: {answer_by}"
    ),
    "complaint.status.answer": "The unit's answer:\n{answer}",
    "complaint.status.none": "You have not filed any complaint yet.",
    "complaint.status.list": "Your reports:",
    "complaint.state.DITERIMA": "Received",
    "complaint.state.DIVERIFIKASI": "Verified",
    "complaint.state.DITINDAKLANJUTI": "Answered",
    "complaint.state.SELESAI": "Finished",
    "complaint.state.DITOLAK": "Rejected",
    "complaint.state.DIARSIPKAN": "Archived",
    "complaint.reason.bukan_kewenangan": "Not within this unit's authority",
    "complaint.reason.tidak_lengkap": "Information incomplete",
    "complaint.reason.bukan_pengaduan": "Not a complaint",
    "complaint.notify.DIVERIFIKASI": "Report {ticket} has been verified and is being followed up by {unit}.",
    "complaint.notify.DITINDAKLANJUTI": "{unit}'s answer to report {ticket}:\n{note}",
    "complaint.notify.SELESAI": "Report {ticket} has been marked finished by {unit}.",
    "complaint.notify.DITOLAK": "We are sorry, report {ticket} cannot be processed: {note}.",
    "complaint.notify.DIARSIPKAN": "Report {ticket} has been archived.",
    "complaint.rate.prompt": "Was report {ticket} handled well? If not, you can reopen it until {until}.",
    "complaint.rate.good": "Yes, well",
    "complaint.rate.poor": "Not well",
    "complaint.rate.reopen": "Reopen",
    "complaint.rate.thanks": "Thank you for your rating.",
    "complaint.rate.already": "Your rating for this report is already recorded. Thank you.",
    "complaint.reopened": "Report {ticket} has been reopened and will be followed up again.",
    "complaint.error.reopen_late": "Sorry, the time to reopen this complaint has passed.",
    "complaint.error.state": "That action does not apply to the complaint's current status.",
    "complaint.error.forbidden": "Sorry, you are not authorised to handle this complaint.",
    "complaint.error.reason": "Choose a reason for the rejection from the list.",
    "complaint.error.answer_empty": "The answer must not be empty.",
    "officer.answer.too_long": "The answer to {ticket} is too long ({length} characters; at most {max}). Please shorten it or send it as several answers; nothing was sent to the citizen.",
    "officer.new": (
        "New complaint {ticket} about {unit}\nKind: {kind}\nReporter: {reporter}\n"
        "Verification due: {verify_by}\n\n{description}"
    ),
    "officer.reporter.anonymous": "anonymous (identity hidden)",
    "officer.reporter.known": "a citizen via {channel}",
    "officer.photos": "Attachments: {count} photos.",
    "officer.location": "Location: {lat}, {lon}",
    "officer.verify": "Verify",
    "officer.answer": "Answer",
    "officer.reject": "Reject",
    "officer.finish": "Finish",
    "officer.answer.how": "Reply to the message of complaint {ticket} with your answer, or type: ANSWER {ticket} <answer>",
    "officer.reject.why": "Reason for rejecting {ticket}:",
    "officer.done": "Ticket {ticket} is now {status}.",
    "officer.not_yours": "Sorry, ticket {ticket} was not found or you are not authorised to handle it.",
    "officer.not_staff": "Sorry, this command is only for registered complaint officers. Type MENU to see what is available.",
    "officer.answer.officers_only": "Officers answer the citizen. Please forward complaint {ticket} to your OPD's {count} officer(s); you can still verify, reject or finish it.",
    "officer.usage": "Officer commands (with or without a slash): ANSWER <ticket> <answer>, VERIFY <ticket>, FINISH <ticket>, REJECT <ticket>, or the buttons on a complaint message.",
    "officer.remind": "Reminder: complaint {ticket} ({unit}) must be {stage} by {due}.",
    "officer.escalate": "Escalation: complaint {ticket} ({unit}) is past its {stage} limit ({due}). Status: {status}.",
    "officer.reopened": "Complaint {ticket} ({unit}) was reopened by the citizen.",
    "officer.stage.verify": "verified",
    "officer.stage.answer": "answered",
    "digest.title": "Weekly SKM digest: {opd}",
    "digest.week": "{label}",
    "digest.week_label": "Week {week} of {year} ({start} to {end})",
    "digest.late": "(Sent late on {date} because the service had stopped.)",
    "digest.empty": (
        "No survey respondents and no complaints this week. Please make sure the survey QR "
        "posters hang at every counter (print them with: skm-bot poster)."
    ),
    "digest.respondents": "Respondents: {count} (last week {last}, {change})",
    "digest.unit": "• {unit}: {count} respondents, IKM {ikm} ({mutu}, {kinerja}){trend}",
    "digest.unit_few": "• {unit}: {count} respondents, too few for a stable index (at least {minimum})",
    "digest.unit_none": "• {unit}: no respondents yet",
    "digest.weakest": "Weakest elements: {elements}",
    "digest.complaints": "Complaints: {received} received this week, {open} open, {overdue} overdue",
    "digest.rtl_overdue": "Follow-up plan (RTL) items past their due date: {count}. Please update them in the console.",
    "digest.suggestions": "Latest suggestions:",
    "digest.chart.units": "IKM per unit",
    "digest.chart.elements": "Element scores (1-4)",
    "digest.chart.trend": "IKM trend, 8 weeks",
    "digest.caption": "SKM chart of {opd}, {label}",
    "digest.summary": "{label}: {count} respondents, IKM {ikm}, {open} complaints open. Reply to this message to receive the full digest.",
    "digest.not_registered": "Sorry, the digest is only for registered OPD heads and officers.",
    "web.login_link": (
        "Your SKM console sign-in link (single use, valid for {minutes} minutes):\n{url}\n"
        "Do not forward this link to anyone."
    ),
    "web.not_registered": (
        "Sorry, the SKM console is only for registered OPD heads and officers. "
        "Please contact the Bagian Organisasi."
    ),
    "erase.confirm": (
        "Erase your data? We will delete your account identity, this conversation and the "
        "content of your complaints. Survey answers still count in the statistics, but can no "
        "longer be linked to you."
    ),
    "erase.yes": "Yes, erase",
    "erase.no": "No",
    "erase.done": "Your data has been erased. Thank you for using this service.",
    "erase.kept": "All right, your data has not been erased.",
    "erase.confirm_open": (
        "You still have a complaint that is not finished. Please choose:\n"
        "• Erase now: all data is erased, the complaint's content too. The unit can no longer "
        "send you its answer.\n"
        "• Keep the complaint: other data is erased now. Your account number and the "
        "complaint's content are kept until it is finished, then erased automatically.\n"
        "Survey answers still count in the statistics without being linked to you."
    ),
    "erase.now": "Erase now",
    "erase.keep": "Keep the complaint",
    "erase.done_now": (
        "Your data has been erased, the complaint's content too. The unit can no longer "
        "contact you about that complaint. Thank you."
    ),
    "erase.done_keep": (
        "Your data has been erased, except what your unfinished complaint needs. You will "
        "still receive the unit's answer and can check STATUS. Once the complaint is "
        "finished, that data is erased automatically."
    ),
    "limit.messages": (
        "Sorry, you sent too many messages in a short time. Messages sent too fast were not "
        "processed. Please wait a moment, then send again."
    ),
    "limit.status": "Sorry, too many status checks. Please try again in a few minutes.",
    "limit.complaints": (
        "Sorry, you have filed {count} complaints today, the daily limit. Please file again "
        "tomorrow, or visit the service unit in person."
    ),
    "error.choose": "Sorry, that choice is not available. Please choose one from the list.",
    "error.empty": "Sorry, your message is empty. Please choose one from the list.",
    "error.too_long": "Sorry, that message is too long. Please choose one from the list.",
    "error.too_long_text": "Sorry, that message is too long. Please shorten it.",
    "error.unsupported": "Sorry, I can only read text and button choices.",
    "error.stale": "That button belongs to an earlier question. Please answer the latest one.",
    "error.text_empty": "Sorry, the suggestion is empty. Write your suggestion, or choose Skip.",
    # --- Telegram's command menu (survey_flows.commands.menu) ------------------------------
    "command.start": "Start / main menu",
    "command.survei": "Take the satisfaction survey",
    "command.pengaduan": "File a complaint",
    "command.status": "Status of my complaints",
    "command.bahasa": "Change language",
    "command.batal": "Cancel the survey",
    "command.bantuan": "Help",
    "command.hapus": "Erase my data",
}

# --- the citizen's conversation (issue 14, items 6, 7, 11, 15, 16, 17) ------------------------
# Kept in a block of their own. Button and row labels: at most 20/24 characters (WhatsApp).
_ID.update(
    {
        "consent.explicit": (
            "Mohon jawab dengan jelas: pilih Setuju (atau ketik YA) bila Bapak/Ibu setuju, "
            "atau Tidak setuju."
        ),
        "survey.length": "Survei untuk {unit}: {questions} pertanyaan, ± {minutes} menit.",
        "survey.welcome_back": (
            "Selamat datang kembali, Bapak/Ibu. Survei untuk {unit}: {questions} pertanyaan, "
            "± {minutes} menit."
        ),
        "survey.profile_progress": "Data diri {n} dari {total} (boleh dilewati)",
        "profile.education.BELUM": "Tidak/belum sekolah",
        "profile.occupation.PETANI": "Petani",
        "profile.occupation.NELAYAN": "Nelayan",
        "profile.occupation.IRT": "Ibu rumah tangga",
        "profile.occupation.TIDAK_BEKERJA": "Tidak bekerja",
        "survey.profile_remembered": (
            "Data diri Bapak/Ibu kami ambil dari survei sebelumnya (dapat diubah pada ringkasan)."
        ),
        "summary.submit_remember": "Kirim & ingat data",
        "summary.remember_note": (
            "Pilih «Kirim & ingat data» agar data diri tidak ditanya lagi (hapus: HAPUS)."
        ),
        "switch.skm": (
            "Bapak/Ibu sedang mengisi survei untuk {unit}. Beralih ke {new}? Jawaban untuk "
            "{unit} yang belum dikirim tidak disimpan."
        ),
        "switch.complaint": (
            "Bapak/Ibu sedang menyampaikan laporan untuk {unit}. Beralih ke {new}? Isian "
            "laporan yang belum dikirim tidak disimpan."
        ),
        "nav.hint.pages": "Ketik nomor atau nama. BERIKUTNYA · SEBELUMNYA · KEMBALI",
        "nav.hint.pages.first": "Ketik nomor atau nama. BERIKUTNYA · KEMBALI",
        "nav.hint.pages.last": "Ketik nomor atau nama. SEBELUMNYA · KEMBALI",
        "reminder.skm": (
            "Bapak/Ibu belum selesai mengisi survei untuk {unit}. Silakan lanjutkan; jawaban "
            "yang sudah ada kami simpan {minutes} menit lagi."
        ),
        "reminder.complaint": (
            "Laporan Bapak/Ibu untuk {unit} belum dikirim. Silakan lanjutkan; isian yang sudah "
            "ada kami simpan {minutes} menit lagi."
        ),
        "switch.go": "Ya, beralih",
        "switch.stay": "Tidak, lanjutkan",
        "listing.matches": "Yang cocok dengan “{query}”:",
        "error.no_match": (
            "Maaf, tidak ada yang cocok dengan “{query}”. Silakan pilih dari daftar, atau ketik "
            "nama lain."
        ),
        "again.prompt": "Ada lagi yang dapat kami bantu? Silakan pilih:",
        "menu.complaint_unit": "Adukan unit ini",
        "menu.resume": "Lanjutkan survei tadi",
        "thanks.low": (
            "Kami mencatat ada unsur yang Bapak/Ibu beri nilai terendah. Bila berkenan, "
            "Bapak/Ibu dapat menyampaikan pengaduan tentang {unit}: pilih «Adukan unit ini»."
        ),
        "expired.resume": (
            "Jawaban Bapak/Ibu untuk {unit} masih kami simpan. Pilih «Lanjutkan survei tadi» "
            "untuk meneruskan."
        ),
    }
)
_EN.update(
    {
        "consent.explicit": (
            "Please answer plainly: choose I agree (or type YES) if you agree, or I do not agree."
        ),
        "survey.length": "Survey for {unit}: {questions} questions, about {minutes} minutes.",
        "survey.welcome_back": (
            "Welcome back. Survey for {unit}: {questions} questions, about {minutes} minutes."
        ),
        "survey.profile_progress": "About you {n} of {total} (you may skip)",
        "profile.education.BELUM": "No schooling (yet)",
        "profile.occupation.PETANI": "Farmer",
        "profile.occupation.NELAYAN": "Fisher",
        "profile.occupation.IRT": "Homemaker",
        "profile.occupation.TIDAK_BEKERJA": "Not working",
        "survey.profile_remembered": (
            "We took your details from your previous survey (you can change them in the summary)."
        ),
        "summary.submit_remember": "Send & remember me",
        "summary.remember_note": (
            "Choose «Send & remember me» to skip these details next time (delete: ERASE)."
        ),
        "switch.skm": (
            "You are answering the survey for {unit}. Switch to {new}? Answers for {unit} not "
            "yet sent will not be kept."
        ),
        "switch.complaint": (
            "You are filing a report about {unit}. Switch to {new}? What you entered for the "
            "report will not be kept."
        ),
        "nav.hint.pages": "Type a number or a name. NEXT · PREVIOUS · BACK",
        "nav.hint.pages.first": "Type a number or a name. NEXT · BACK",
        "nav.hint.pages.last": "Type a number or a name. PREVIOUS · BACK",
        "reminder.skm": (
            "You have not finished the survey for {unit}. Please go on; we keep your answers "
            "for {minutes} more minutes."
        ),
        "reminder.complaint": (
            "Your report about {unit} has not been sent. Please go on; we keep what you "
            "entered for {minutes} more minutes."
        ),
        "switch.go": "Yes, switch",
        "switch.stay": "No, continue",
        "listing.matches": "Matching “{query}”:",
        "error.no_match": (
            "Sorry, nothing matches “{query}”. Please choose from the list, or type another name."
        ),
        "again.prompt": "Is there anything else we can help with? Please choose:",
        "menu.complaint_unit": "Complain about it",
        "menu.resume": "Continue my survey",
        "thanks.low": (
            "We noted that you gave the lowest score to at least one item. If you wish, you "
            "can file a complaint about {unit}: choose «Complain about it»."
        ),
        "expired.resume": (
            "We still have your answers for {unit}. Choose «Continue my survey» to go on."
        ),
    }
)

# --- the questionnaire as a WhatsApp Flow form (survey_flows.form) ---------------------------
# Kept in a block of their own. Meta's limits: screen titles and button labels short, a text
# area's label at most 20 characters, the Flow button (form.cta) at most 20, no emoji.
_ID.update(
    {
        "form.cta": "Isi survei",
        "form.screen.survey": "Survei kepuasan",
        "form.intro.survey": (
            "Mohon pilih satu jawaban untuk setiap pertanyaan tentang layanan yang "
            "Bapak/Ibu terima."
        ),
        "form.service.question": "Jenis layanan yang Bapak/Ibu terima (boleh dilewati):",
        "form.heading.profile": "Data responden (tidak wajib)",
        "form.heading.suggestion": "Saran (tidak wajib)",
        "form.suggestion.label": "Saran (boleh kosong)",
        "form.suggestion.question": "Tulis saran Bapak/Ibu, paling banyak {max} karakter.",
        "form.send": "Setuju & kirim",
        # The consent inside the Flow (docs/whatsapp.md, "Consent in the form"): the message
        # that opens the form carries the notice; the form repeats it above its button.
        "form.consent.how": (
            "Bila setuju, tekan Isi survei, pilih jawaban, lalu tekan Setuju & kirim. Bila "
            "tidak setuju, ketik BATAL; tidak ada yang kami simpan."
        ),
        "form.consent.screen": (
            "Dengan menekan Setuju & kirim, Bapak/Ibu menyetujui pemberitahuan data pribadi "
            "pada pesan survei ini: jawaban disimpan tanpa nama dan tanpa nomor telepon, "
            "hanya untuk mengukur kepuasan layanan."
        ),
        "form.partial": (
            "Terima kasih, jawaban dari formulir sudah kami catat. Beberapa jawaban belum "
            "lengkap; mohon Bapak/Ibu jawab di sini."
        ),
        "form.refused": (
            "Maaf, jawaban dari formulir tidak dapat kami baca. Mohon Bapak/Ibu lanjutkan "
            "survei di sini."
        ),
        "form.stale": (
            "Formulir ini sudah kami terima atau sudah tidak berlaku, sehingga tidak kami "
            "simpan lagi."
        ),
    }
)
_EN.update(
    {
        "form.cta": "Take survey",
        "form.screen.survey": "Satisfaction survey",
        "form.intro.survey": (
            "Please choose one answer for each question about the service you received."
        ),
        "form.service.question": "The service you received (you may skip this):",
        "form.heading.profile": "About you (optional)",
        "form.heading.suggestion": "Suggestion (optional)",
        "form.suggestion.label": "Your suggestion",
        "form.suggestion.question": "Write your suggestion, at most {max} characters.",
        "form.send": "Agree & send",
        "form.consent.how": (
            "If you agree, tap Take survey, choose your answers, then tap Agree & send. If you "
            "do not agree, type CANCEL; nothing is kept."
        ),
        "form.consent.screen": (
            "By tapping Agree & send you agree to the personal data notice in this survey's "
            "message: your answers are kept without your name or phone number, only to measure "
            "satisfaction with the service."
        ),
        "form.partial": (
            "Thank you, your answers from the form are noted. A few are incomplete; please "
            "answer them here."
        ),
        "form.refused": (
            "Sorry, we could not read the answers from the form. Please continue the survey here."
        ),
        "form.stale": (
            "This form was already received or is no longer valid, so it was not stored again."
        ),
    }
)

# --- WhatsApp chat: the footer under reply buttons and lists (handlers/whatsapp/render.py) ---
# At most 60 characters (a footer's limit). Names the range to type: a digit is one tap where a
# WhatsApp list is three (open, pick, send).
_ID.update({"wa.hint.range": "Ketik angka 1–{n}. KEMBALI · BATAL · BANTUAN"})
_EN.update({"wa.hint.range": "Type 1–{n}. BACK · CANCEL · HELP"})

MESSAGES: Final[dict[str, dict[str, str]]] = {"id": _ID, "en": _EN}


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
