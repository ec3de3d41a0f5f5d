"""The SKM questionnaire's data (PermenPANRB 14/2017): the elements in the order they are
asked, the 4-point scale and the profile items. The chat (``skm``) and the form (``form``)
are both built from it; the wording lives in the catalogue."""

from __future__ import annotations

# The regulation's sample questionnaire asks about facilities (U9) before complaint handling
# (U8). Answers are stored by code, so the order of asking never decides the meaning.
QUESTION_ORDER: tuple[str, ...] = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U9", "U8")
SCORES: tuple[int, ...] = (1, 2, 3, 4)

PROFILE_ITEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("age", ("17-25", "26-35", "36-45", "46-55", "56+")),
    ("gender", ("L", "P")),
    ("education", ("SD", "SMP", "SMA", "D1-D3", "D4-S1", "S2", "S3")),
    ("occupation", ("PNS", "TNI", "POLRI", "SWASTA", "WIRAUSAHA", "PELAJAR", "LAINNYA")),
)

# The options the chat and the form offer: the regulation's, and answers common in Mimika
# that its lists lack (issue 14, item 15). A new option is stored as the regulation's category
# it is reported under, its own code beside it (``<item>_detail``), so reports, filters and
# stored responses keep the regulation's codes (docs/survey.md, "Profile").
PROFILE_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    PROFILE_ITEMS[0],
    PROFILE_ITEMS[1],
    # Appended, so the regulation's options keep their numbers (SD is 1, PELAJAR 6).
    ("education", ("SD", "SMP", "SMA", "D1-D3", "D4-S1", "S2", "S3", "BELUM")),
    ("occupation", ("PNS", "TNI", "POLRI", "SWASTA", "WIRAUSAHA", "PELAJAR", "PETANI",
                    "NELAYAN", "IRT", "TIDAK_BEKERJA", "LAINNYA")),
)  # fmt: skip
REPORTED_AS: dict[str, dict[str, str]] = {
    # "SD ke bawah": the lowest schooling the regulation's list has.
    "education": {"BELUM": "SD"},
    "occupation": {"PETANI": "LAINNYA", "NELAYAN": "LAINNYA", "IRT": "LAINNYA",
                   "TIDAK_BEKERJA": "LAINNYA"},
}  # fmt: skip


def stored_profile(answers: dict[str, object]) -> dict[str, str]:
    """The profile as a response stores it: the regulation's codes, a new option's own code
    under ``<item>_detail`` (``occupation=LAINNYA, occupation_detail=PETANI``)."""
    profile: dict[str, str] = {}
    for item, _ in PROFILE_ITEMS:
        value = answers.get(item)
        if not value:
            continue
        code = str(value)
        reported = REPORTED_AS.get(item, {}).get(code)
        profile[item] = reported or code
        if reported is not None:
            profile[f"{item}_detail"] = code
    return profile


# The youngest respondent the profile's brackets count (17-25 is the first).
ADULT_AGE = 17
OLDEST_READABLE_AGE = 120


def age_bracket(years: int) -> str | None:
    """The profile's age bracket for an age typed in years; None outside 17-120."""
    if not ADULT_AGE <= years <= OLDEST_READABLE_AGE:
        return None
    for code in PROFILE_ITEMS[0][1]:
        low, _, high = code.rstrip("+").partition("-")
        if int(low) <= years and (not high or years <= int(high)):
            return code
    return None
