"""The message catalogue (``survey_flows.catalog``): complete, consistent, and fit to send.

Both languages must have the same keys and placeholders; every key the flows use must exist;
the nine questions and their answers must read as in SKM.md §1.2; and every text must fit the
channels (WhatsApp: 1024 characters of body, choice labels kept short).
"""

from __future__ import annotations

import ast
import re
import string
import unicodedata
from pathlib import Path

import pytest

from survey_flows.catalog import LANGUAGES, MESSAGES, text
from survey_flows.commands import KEYWORDS
from survey_flows.types import Outbound
from survey_flows.web_catalog import WEB_MESSAGES
from tests.support.catalog import _every_message
from tests.support.survey_chat import (
    ASKED_ORDER,
    ELEMENTS,
)

FLOW_SOURCES = sorted((Path(__file__).parents[2] / "survey_flows").glob("*.py"))
WHATSAPP_BODY_MAX = 1024
LABEL_MAX = 64

# SKM.md §1.2, the best-attested wording; answers score 1 (worst) to 4 (best).
STANDARD: dict[str, tuple[str, tuple[str, str, str, str]]] = {
    "U1": (
        "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis "
        "pelayanannya?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    "U2": (
        "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
        ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"),
    ),
    "U3": (
        "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
        ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"),
    ),
    "U4": (
        "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
        ("Sangat mahal", "Cukup mahal", "Murah", "Gratis"),
    ),
    "U5": (
        "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum "
        "dalam standar pelayanan dengan hasil yang diberikan?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    "U6": (
        "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
        ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"),
    ),
    "U7": (
        "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait kesopanan "
        "dan keramahan?",
        (
            "Tidak sopan dan ramah",
            "Kurang sopan dan ramah",
            "Sopan dan ramah",
            "Sangat sopan dan ramah",
        ),
    ),
    "U8": (
        "Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
        (
            "Tidak ada",
            "Ada tetapi tidak berfungsi",
            "Berfungsi kurang maksimal",
            "Dikelola dengan baik",
        ),
    ),
    "U9": (
        "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
        ("Buruk", "Cukup", "Baik", "Sangat Baik"),
    ),
}
UNSUR = {
    "U1": "Persyaratan",
    "U2": "Sistem, Mekanisme, dan Prosedur",
    "U3": "Waktu Penyelesaian",
    "U4": "Biaya/Tarif",
    "U5": "Produk Spesifikasi Jenis Pelayanan",
    "U6": "Kompetensi Pelaksana",
    "U7": "Perilaku Pelaksana",
    "U8": "Penanganan Pengaduan, Saran dan Masukan",
    "U9": "Sarana dan prasarana",
}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def fold(label: str) -> str:
    decomposed = unicodedata.normalize("NFKD", label.casefold())
    kept = "".join(ch for ch in decomposed if ch.isalnum() or ch.isspace())
    return " ".join(kept.split())


# --- the two catalogues agree -------------------------------------------------------------------


def test_both_languages_have_exactly_the_same_keys() -> None:
    assert set(LANGUAGES) == {"id", "en"} == set(MESSAGES)
    only_id = set(MESSAGES["id"]) - set(MESSAGES["en"])
    only_en = set(MESSAGES["en"]) - set(MESSAGES["id"])
    assert not only_id, f"missing in English: {sorted(only_id)}"
    assert not only_en, f"missing in Indonesian: {sorted(only_en)}"


@pytest.mark.parametrize("key", sorted(MESSAGES["id"]))
def test_both_languages_use_the_same_placeholders(key: str) -> None:
    assert placeholders(MESSAGES["id"][key]) == placeholders(MESSAGES["en"].get(key, ""))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_filled_in_and_trimmed(language: str) -> None:
    for key, value in MESSAGES[language].items():
        assert value, key
        assert value == value.strip(), key
        # Positional or attribute placeholders would break text(); names only.
        for name in placeholders(value):
            assert re.fullmatch(r"[a-z_]+", name), (key, name)


# --- the questionnaire ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ELEMENTS)
def test_each_element_has_its_question_four_answers_and_name(code: str) -> None:
    question, answers = STANDARD[code]
    catalogue = MESSAGES["id"]
    assert catalogue[f"question.{code}"] == question
    assert tuple(catalogue[f"answer.{code}.{score}"] for score in (1, 2, 3, 4)) == answers
    assert catalogue[f"element.{code}"] == UNSUR[code]
    for language in LANGUAGES:
        assert f"answer.{code}.0" not in MESSAGES[language]
        assert f"answer.{code}.5" not in MESSAGES[language]
        english = [MESSAGES["en"][f"answer.{code}.{score}"] for score in (1, 2, 3, 4)]
        assert len(set(map(fold, english))) == 4, "English answers must be told apart"


def test_no_extra_elements_in_the_catalogue() -> None:
    codes = {k.split(".")[1] for k in MESSAGES["id"] if k.startswith(("question.U", "answer.U"))}
    assert codes == set(ELEMENTS)
    assert set(ASKED_ORDER) == set(ELEMENTS)


def test_u4_runs_from_very_expensive_to_free_in_english_too() -> None:
    english = [MESSAGES["en"][f"answer.U4.{score}"] for score in (1, 2, 3, 4)]
    assert english[0].lower().startswith("very expensive")
    assert english[3].lower() == "free"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_answer_label_is_taken_for_a_keyword(language: str) -> None:
    # A typed label must select the answer, not trigger "back" or "cancel".
    catalogue = MESSAGES[language]
    label_keys = [k for k in catalogue if k.startswith(("answer.", "profile.", "consent."))]
    for key in label_keys:
        if key.endswith((".prompt", ".notice", ".declined")):
            continue
        assert fold(catalogue[key]) not in KEYWORDS, key


# --- every key the flows use exists ----------------------------------------------------------

_KEY_PREFIXES = {key.split(".")[0] for key in MESSAGES["id"] if "." in key}
_LOOKUPS = {"_t", "_say", "text", "_reject"}


def _literal_keys() -> tuple[set[str], set[str]]:
    """Catalogue keys written in the flow sources: literal keys and f-string patterns."""
    literal: set[str] = set()
    patterns: set[str] = set()
    for path in FLOW_SOURCES:
        if path.name in {"catalog.py", "web_catalog.py"}:  # the catalogues themselves
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if re.fullmatch(r"[a-z_]+(\.[A-Za-z0-9_+\-]+)+", value) and (
                    value.split(".")[0] in _KEY_PREFIXES
                ):
                    literal.add(value)
            elif isinstance(node, ast.JoinedStr):
                parts = []
                for part in node.values:
                    if isinstance(part, ast.Constant):
                        parts.append(re.escape(str(part.value)))
                    else:
                        parts.append(r"[^.]+")
                pattern = "".join(parts)
                head = node.values[0] if node.values else None
                if (
                    isinstance(head, ast.Constant)
                    and str(head.value).split(".")[0] in _KEY_PREFIXES
                    and "." in str(head.value)
                ):
                    patterns.add(pattern)
            elif isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in _LOOKUPS:
                    continue
                index = 1 if name == "text" else 0
                if len(node.args) > index:
                    arg = node.args[index]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        literal.add(arg.value)
    return literal, patterns


def test_the_source_scan_finds_the_keys_it_should() -> None:
    literal, patterns = _literal_keys()
    assert {"thanks", "cancelled", "expired", "error.stale", "consent.notice"} <= literal
    assert any("answer" in p for p in patterns)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_written_in_the_flow_sources_exists(language: str) -> None:
    literal, patterns = _literal_keys()
    # The web console's pure modules (survey_flows/web_*.py) name keys of its own catalogue.
    catalogue = {**MESSAGES[language], **WEB_MESSAGES[language]}
    missing = sorted(key for key in literal if key not in catalogue)
    assert not missing, f"keys used in survey_flows but missing in {language}: {missing}"
    for pattern in patterns:
        assert any(re.fullmatch(pattern, key) for key in catalogue), pattern


# --- driving every step in both languages --------------------------------------------------------


@pytest.fixture(scope="module", params=LANGUAGES)
def messages(request: pytest.FixtureRequest) -> tuple[str, list[Outbound]]:
    language: str = request.param
    return language, _every_message(language)


def test_driving_every_step_shows_every_kind_of_message(
    messages: tuple[str, list[Outbound]],
) -> None:
    language, seen = messages
    catalogue = MESSAGES[language]
    shown = {o.text for o in seen}
    for key in (
        "expired",
        "cancelled",
        "thanks",
        "consent.declined",
        "help.text",
        "error.choose.range",
        "error.unsupported",
        "error.stale",
        "error.too_long",
        "error.text_empty",
        "unit.none",
        "language.set",
    ):
        template = catalogue[key]
        fixed = template.split("{")[0]
        assert any(t.startswith(fixed) for t in shown), key
    assert all(o.language == language for o in seen)


def test_every_shown_text_fits_a_whatsapp_body(messages: tuple[str, list[Outbound]]) -> None:
    _, seen = messages
    too_long = [o.text[:60] for o in seen if len(o.text) > WHATSAPP_BODY_MAX]
    assert not too_long


def test_every_shown_choice_label_is_short(messages: tuple[str, list[Outbound]]) -> None:
    _, seen = messages
    long_labels = {c.label for o in seen for c in o.choices if len(c.label) > LABEL_MAX}
    assert not long_labels
    assert all(c.label.strip() for o in seen for c in o.choices)


def test_no_indonesian_text_exceeds_a_whatsapp_body() -> None:
    filled = {
        key: text("id", key, **dict.fromkeys(placeholders(value), "X" * 40))
        for key, value in MESSAGES["id"].items()
    }
    too_long = {key: len(value) for key, value in filled.items() if len(value) > WHATSAPP_BODY_MAX}
    assert not too_long


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalogue_choice_label_exceeds_64_characters(language: str) -> None:
    label_prefixes = ("answer.", "nav.", "menu.", "language.", "element.", "summary.profile.")
    exact = {"consent.agree", "consent.decline", "summary.submit", "summary.edit"}
    for key, value in MESSAGES[language].items():
        is_label = key.startswith(label_prefixes) or key in exact
        is_profile_option = key.startswith("profile.") and not key.endswith(".prompt")
        if key in {"language.prompt", "language.set", "menu.welcome"} or key.startswith("nav.hint"):
            continue
        if is_label or is_profile_option:
            # Edit labels carry a "9. " prefix in front of the element's name.
            assert len(value) + 3 <= LABEL_MAX, key
