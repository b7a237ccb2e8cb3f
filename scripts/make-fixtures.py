#!/usr/bin/env python3
"""Builds apsync's own fixture set under fixtures/ from ONE truth table, with an oracle.

The truth table below says, for every pupil placed with one of five invented providers and every
school day of the fortnight 8 to 19 June 2026, what each session's register code must be (or that
the provider left it blank). From it this script writes:

- fixtures/roster/            the MIS export and the placements (same header shape as samples/roster);
- fixtures/returns/<id>/      each provider's returns, in its own file family;
- fixtures/formats/<id>.toml  the format that reads them (docs/formats.md), and fixtures/apsync.toml;
- fixtures/expected/          the register, the review queue and the attendance report that
                              importing the returns must produce, computed HERE from the truth table
                              (never by running apsync).

The outputs are committed; this script is only needed to change them. It needs Python 3.11+ and
openpyxl (`pip install openpyxl`). Run it from anywhere: `scripts/make-fixtures.py`. Its output is
byte-for-byte reproducible (workbooks included), so `git diff` shows exactly what a change did.

The expected files are derived by an independent oracle: the UPN check letter, the school
calendar, the placements' weekdays, the statutory code groups and the rounding are all computed
below from the reference (shared/reference/attendance-codes.md), not taken from apsync.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures"

AM, PM = "AM", "PM"
SESSIONS = (AM, PM)
FIRST_DAY, LAST_DAY = date(2026, 6, 8), date(2026, 6, 19)


def june(day: int) -> date:
    return date(2026, 6, day)


# --------------------------------------------------------------------------------------------
# Identifiers: the UPN check letter, from the reference ("Identifiers").

ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"


def check_letter(rest: str) -> str:
    """Characters 2..13 take their index in ALPHABET, weights 2..13; the sum mod 23 indexes it."""
    assert len(rest) == 12
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(rest, range(2, 14)))
    return ALPHABET[total % 23]


def upn_valid(text: str) -> bool:
    return len(text) == 13 and text[0] in ALPHABET[:23] and text[1:12].isdigit() and check_letter(text[1:]) == text[0]


def make_upn(la: int, establishment: int, year: int, serial: int) -> str:
    rest = f"{la:03d}{establishment:04d}{year:02d}{serial:03d}"
    return check_letter(rest) + rest


# The reference's own examples.
assert upn_valid("B801200005001") and not upn_valid("A801200005001")

# --------------------------------------------------------------------------------------------
# The school: pupils, providers, placements.


@dataclass(frozen=True)
class Pupil:
    adno: str  # as the MIS writes it, with leading zeros
    surname: str
    forename: str
    dob: date
    year: int
    upn_year: int  # the year the UPN was issued (2 digits)
    serial: int

    @property
    def upn(self) -> str:
        return make_upn(873, 4012, self.upn_year, self.serial)


PUPILS = [
    Pupil("003201", "Hart", "Amelia", date(2010, 10, 3), 11, 15, 101),
    Pupil("003202", "Price-Jones", "Dylan", date(2011, 1, 22), 10, 15, 114),
    Pupil("003203", "Wiśniewska", "Maja", date(2010, 5, 9), 11, 14, 207),
    Pupil("003204", "O'Connor", "Siân", date(2010, 11, 21), 11, 15, 133),
    Pupil("003205", "Ellis", "Jack", date(2010, 3, 14), 11, 14, 218),  # same name as 003206
    Pupil("003206", "Ellis", "Jack", date(2011, 9, 2), 10, 16, 145),
    Pupil("003207", "Ní Bhriain", "Aoife", date(2011, 6, 30), 10, 16, 152),
    Pupil("003208", "Mensah", "Kofi", date(2010, 2, 17), 11, 14, 226),
    Pupil("003209", "Dubois", "Léa", date(2011, 12, 5), 10, 16, 160),
    Pupil("003210", "McAllister", "Ryan", date(2010, 8, 28), 11, 15, 171),
    Pupil("003211", "Zieliński", "Tomasz", date(2011, 4, 11), 10, 16, 188),
    Pupil("003212", "D'Souza", "Chantelle", date(2010, 7, 19), 11, 15, 190),
    Pupil("003213", "Yusuf", "Ibrahim", date(2011, 2, 26), 10, 16, 203),
    Pupil("003214", "Llewellyn-Rees", "Ffion", date(2010, 12, 8), 11, 15, 219),
    Pupil("003215", "Brooks", "Nathan", date(2011, 10, 14), 10, 16, 224),
    Pupil("003216", "Adeyemi", "Grace", date(2010, 9, 1), 11, 15, 236),  # on roll, placed nowhere
]
BY_ADNO = {p.adno: p for p in PUPILS}
assert len({p.upn for p in PUPILS}) == len(PUPILS) and all(upn_valid(p.upn) for p in PUPILS)


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    present_code: str
    description: str


PROVIDERS = [
    Provider("oak-farm", "Oak Farm Rural Skills", "B", "a care farm: animal care, land work, construction"),
    Provider("city-tutors", "City Tutors Ltd", "B", "a tuition centre keeping a DfE-coded register"),
    Provider("pathways-college", "Pathways College", "B", "an FE college's 14-16 vocational programme"),
    Provider("ring-fit-boxing", "Ring Fit Boxing Academy", "B", "a boxing gym's mentoring programme"),
    Provider("bridge-tuition", "Bridge Tuition Centre", "K", "the local authority's tuition centre (so present is K)"),
]
PROVIDER = {p.id: p for p in PROVIDERS}

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class Placement:
    adno: str
    provider: str
    ref: str
    start: date
    end: date
    days: tuple[str, ...]

    def expects(self, d: date) -> bool:
        return self.start <= d <= self.end and WEEKDAY_NAMES[d.weekday()] in self.days


FULL_WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri")
PLACEMENTS = [
    Placement("003201", "oak-farm", "OF-07", date(2026, 1, 5), date(2026, 7, 17), FULL_WEEK),
    Placement("003202", "oak-farm", "OF-11", date(2026, 1, 5), date(2026, 7, 17), ("Mon", "Tue", "Wed")),
    Placement("003203", "oak-farm", "OF-12", date(2026, 4, 13), date(2026, 7, 17), ("Thu", "Fri")),
    Placement("003204", "city-tutors", "CT/0415", date(2026, 1, 5), date(2026, 7, 17), FULL_WEEK),
    Placement("003205", "city-tutors", "CT/0422", date(2026, 1, 5), date(2026, 7, 17), ("Mon", "Tue", "Wed")),
    Placement("003206", "city-tutors", "CT/0431", date(2026, 4, 13), date(2026, 7, 17), ("Wed", "Thu", "Fri")),
    Placement("003207", "city-tutors", "CT/0438", date(2026, 1, 5), date(2026, 7, 17), FULL_WEEK),
    Placement("003208", "pathways-college", "PC-2041", date(2025, 9, 3), date(2026, 7, 17), FULL_WEEK),
    Placement("003209", "pathways-college", "PC-2043", date(2026, 4, 13), date(2026, 7, 17), ("Mon", "Tue", "Wed")),
    Placement("003210", "pathways-college", "PC-2047", date(2026, 1, 5), date(2026, 7, 17), ("Tue", "Thu")),
    Placement("003211", "ring-fit-boxing", "RF-118", date(2026, 1, 5), date(2026, 7, 17), FULL_WEEK),
    Placement("003212", "ring-fit-boxing", "RF-124", date(2026, 1, 5), date(2026, 7, 17), ("Mon", "Wed", "Fri")),
    Placement("003213", "bridge-tuition", "BT-3301", date(2026, 1, 5), date(2026, 7, 17), FULL_WEEK),
    Placement("003214", "bridge-tuition", "BT-3308", date(2026, 4, 13), date(2026, 7, 17), ("Tue", "Wed", "Thu")),
    # A placement that starts in the middle of the fortnight.
    Placement("003215", "bridge-tuition", "BT-3312", date(2026, 6, 10), date(2026, 7, 17), FULL_WEEK),
]
PLACEMENT_OF = {p.adno: p for p in PLACEMENTS}
assert "003216" not in PLACEMENT_OF

# --------------------------------------------------------------------------------------------
# The school calendar, from the example configuration (the oracle's own reading of it).

EXAMPLE_CONFIG_TEXT = (ROOT / "config/apsync.example.toml").read_text(encoding="utf-8")
EXAMPLE_CONFIG = tomllib.loads(EXAMPLE_CONFIG_TEXT)


def _closures() -> set[date]:
    days: set[date] = set()
    for item in EXAMPLE_CONFIG["calendar"]["closures"]:
        first, _, last = item.partition("..")
        d, end = date.fromisoformat(first), date.fromisoformat(last or first)
        while d <= end:
            days.add(d)
            d += timedelta(days=1)
    return days


CLOSURES = _closures()
TERMS = [(date.fromisoformat(t["start"]), date.fromisoformat(t["end"])) for t in EXAMPLE_CONFIG["calendar"]["terms"]]


def is_school_day(d: date) -> bool:
    return d.weekday() < 5 and d not in CLOSURES and any(s <= d <= e for s, e in TERMS)


FORTNIGHT = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
SCHOOL_DAYS = [d for d in FORTNIGHT if is_school_day(d)]
assert len(SCHOOL_DAYS) == 10, "the fortnight must be ten school days (no closures in it)"
WEEKS = [SCHOOL_DAYS[:5], SCHOOL_DAYS[5:]]

# --------------------------------------------------------------------------------------------
# THE TRUTH TABLE.
#
# Every session a placement expects is "present" unless listed here. A token is:
#   "present"  the provider reports the pupil there: the provider's present code (B, or K);
#   "late"     arrived before the provider's register closed: still present;
#   a code     the statutory code the provider's mark means (I, M, O, N, U, E, G, C, R, Y1);
#   None       the provider left the session blank: no mark (not an absence).

TRUTH_EXCEPTIONS: dict[tuple[str, date, str], str | None] = {
    # oak-farm (long CSV, a row per session, word vocabulary)
    ("003201", june(9), AM): "late",
    ("003201", june(10), AM): "I",
    ("003201", june(10), PM): "I",
    ("003201", june(11), AM): "M",  # first sent as "Absent" (N), corrected the next week
    ("003201", june(16), PM): "U",
    ("003201", june(18), AM): "G",  # one "All day" row
    ("003201", june(18), PM): "G",
    ("003202", june(8), AM): "O",
    ("003202", june(15), AM): "E",
    ("003202", june(15), PM): "E",
    ("003202", june(17), PM): "C",
    ("003203", june(12), AM): "R",
    ("003203", june(19), PM): "N",
    # city-tutors (wide CSV, DfE codes)
    ("003204", june(8), AM): "late",
    ("003204", june(11), PM): "I",
    ("003204", june(17), AM): "Y1",  # not counted: leaves possible sessions
    ("003204", june(19), AM): None,  # not reported
    ("003204", june(19), PM): None,
    ("003205", june(9), AM): "N",
    ("003205", june(9), PM): "N",
    ("003205", june(16), AM): "U",
    ("003206", june(12), PM): "M",
    ("003206", june(18), AM): None,  # the provider wrote the obsolete code H: review, no mark
    ("003206", june(18), PM): "G",
    ("003207", june(10), AM): "O",
    ("003207", june(15), AM): "C",
    ("003207", june(15), PM): "C",
    ("003207", june(19), PM): "R",
    # pathways-college (XLSX, two header rows)
    ("003208", june(8), PM): "late",
    ("003208", june(12), AM): "I",
    ("003208", june(15), AM): "U",
    ("003208", june(18), AM): "N",
    ("003208", june(18), PM): "N",
    ("003209", june(10), PM): "M",
    ("003209", june(16), AM): "O",
    ("003210", june(9), AM): "E",
    ("003210", june(9), PM): "E",
    ("003210", june(11), PM): "R",
    ("003210", june(16), PM): "C",
    ("003210", june(18), AM): "G",
    # ring-fit-boxing (tab-separated, AM/PM columns with their own reasons)
    ("003211", june(8), AM): "I",
    ("003211", june(9), PM): "late",
    ("003211", june(10), AM): "N",  # A with a blank reason
    ("003211", june(15), PM): "U",
    ("003211", june(17), AM): "M",
    ("003211", june(17), PM): "M",
    ("003211", june(19), PM): None,  # not reported
    ("003212", june(10), PM): "R",
    ("003212", june(12), AM): "G",
    ("003212", june(15), AM): None,  # the day's row carries a mistyped UPN: review, no mark
    ("003212", june(15), PM): None,
    ("003212", june(17), AM): "E",
    ("003212", june(19), AM): "C",
    ("003212", june(19), PM): "O",
    # bridge-tuition (JSON pages, present code K)
    ("003213", june(9), AM): "late",
    ("003213", june(11), AM): "I",
    ("003213", june(11), PM): "I",
    ("003213", june(12), AM): "M",  # first sent as NOSHOW (N) on page 1, corrected on page 2
    ("003213", june(16), PM): "N",
    ("003213", june(18), AM): "R",
    ("003214", june(10), PM): "O",
    ("003214", june(16), AM): None,  # not reported (null)
    ("003214", june(17), AM): "U",
    ("003214", june(18), AM): "C",
    ("003214", june(18), PM): "C",
    ("003215", june(12), PM): "E",
    ("003215", june(19), AM): "G",
    ("003215", june(19), PM): "G",
}

# Corrections: the first return says this; a later return of the same provider says the truth.
CORRECTIONS: dict[tuple[str, date, str], str] = {
    ("003201", june(11), AM): "N",
    ("003213", june(12), AM): "N",
}

# The rows that must go to a person instead of the register, one of each kind.
UNKNOWN_PUPIL = {"provider": "oak-farm", "adno": "3999", "name": "Kyle Bennett", "date": june(16), "session": PM}
OBSOLETE_CODE = {"provider": "city-tutors", "pupil": "003206", "date": june(18), "session": AM, "mark": "H"}
OUTSIDE_PLACEMENT = {"provider": "pathways-college", "pupil": "003209", "date": june(11), "session": AM}
NOT_A_SCHOOL_DAY = {"provider": "bridge-tuition", "pupil": "003215", "date": june(13), "session": AM}
INVALID_UPN = {"provider": "ring-fit-boxing", "pupil": "003212", "date": june(15), "session": AM}


def mistyped(upn: str) -> str:
    """The UPN with two neighbouring digits swapped, as a person retyping it might."""
    chars = list(upn)
    chars[8], chars[9] = chars[9], chars[8]
    bad = "".join(chars)
    assert bad != upn and not upn_valid(bad), bad
    return bad


BAD_UPN = mistyped(BY_ADNO[INVALID_UPN["pupil"]].upn)

# The cases must be what they claim, by the oracle's own rules.
assert UNKNOWN_PUPIL["adno"].zfill(6) not in BY_ADNO
assert not PLACEMENT_OF[OUTSIDE_PLACEMENT["pupil"]].expects(OUTSIDE_PLACEMENT["date"])
assert is_school_day(OUTSIDE_PLACEMENT["date"])
assert not is_school_day(NOT_A_SCHOOL_DAY["date"])


def build_truth() -> dict[tuple[str, date, str], str | None]:
    """Every expected session of every placed pupil, with its token (None: left blank)."""
    truth: dict[tuple[str, date, str], str | None] = {}
    for pl in PLACEMENTS:
        for d in SCHOOL_DAYS:
            if pl.expects(d):
                for s in SESSIONS:
                    truth[(pl.adno, d, s)] = TRUTH_EXCEPTIONS.get((pl.adno, d, s), "present")
    unknown = set(TRUTH_EXCEPTIONS) - set(truth)
    assert not unknown, f"exceptions for sessions no placement expects: {sorted(unknown)}"
    assert set(CORRECTIONS) <= set(truth)
    return truth


TRUTH = build_truth()


def token_at(adno: str, d: date, s: str, corrected: bool = True) -> str | None:
    """The token a return writes for a session: the truth, or the first (wrong) version."""
    if not corrected and (adno, d, s) in CORRECTIONS:
        return CORRECTIONS[(adno, d, s)]
    return TRUTH.get((adno, d, s))


# --------------------------------------------------------------------------------------------
# The statutory codes' statistics groups (reference, "Register codes"): ATT, AUTH, UNAUTH, NC.

STATS = {
    **dict.fromkeys(["/", "\\", "L", "K", "V", "P", "W", "B"], "ATT"),
    **dict.fromkeys(["C1", "M", "J1", "S", "C2", "C", "T", "R", "I", "E"], "AUTH"),
    **dict.fromkeys(["G", "N", "O", "U"], "UNAUTH"),
    **dict.fromkeys(["D", "X", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "Z", "#"], "NC"),
}


assert OBSOLETE_CODE["mark"] not in STATS, "the obsolete code must not be a current one"


def code_of(token: str, provider: Provider) -> str:
    if token in ("present", "late"):
        return provider.present_code
    assert token in STATS, token
    return token


# --------------------------------------------------------------------------------------------
# Writing files.

FILES: dict[Path, bytes] = {}
REVIEWS: list[tuple[str, str, str]] = []  # (file, identifier, kind)


def put(rel: str, data: bytes) -> None:
    path = OUT / rel
    assert path not in FILES, rel
    FILES[path] = data


def csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buf.getvalue()


def pupils_of(provider: str) -> list[Pupil]:
    return [BY_ADNO[p.adno] for p in PLACEMENTS if p.provider == provider]


# ---- 1. oak-farm: long CSV, a `Session` column of Morning/Afternoon (and one "All day"), dates
#         dd-mm-yyyy, the pupil by admission number written without leading zeros, words.

OAK_WORDS = {
    "present": "Attended",
    "late": "Late",
    "U": "Late after close",
    "I": "Ill",
    "M": "Appointment",
    "N": "Absent",
    "O": "Unauthorised",
    "E": "Excluded",
    "G": "Holiday",
    "C": "Authorised absence",
    "R": "Religious observance",
}
OAK_NOTES = {
    ("003201", june(9), AM): "Bus late, arrived 9:20",
    ("003201", june(10), AM): "Mum rang - sickness bug",
    ("003201", june(16), PM): "Arrived 1:50, after register",
    ("003201", june(18), AM): "Family holiday, school informed",
    ("003202", june(15), AM): "Suspended by school (2 days)",
    ("003203", june(12), AM): "Eid - agreed with school",
}


def oak_farm() -> None:
    header = ["Date", "Session", "Adm No", "Learner", "Attendance", "Notes"]
    files = {}
    for n, week in enumerate(WEEKS):
        name = f"OakFarm_Attendance_{week[0].isoformat()}.csv"
        rows = [header]
        for d in week:
            for pupil in pupils_of("oak-farm"):
                adno = pupil.adno.lstrip("0")
                learner = f"{pupil.forename} {pupil.surname}"
                am, pm = token_at(pupil.adno, d, AM, n > 0), token_at(pupil.adno, d, PM, n > 0)
                if (pupil.adno, d, AM) not in TRUTH:
                    continue
                if pupil.adno == "003201" and d == june(18):
                    assert am == pm
                    note = OAK_NOTES.get((pupil.adno, d, AM), "")
                    rows.append([d.strftime("%d-%m-%Y"), "All day", adno, learner, OAK_WORDS[am], note])
                    continue
                for s, tok in ((AM, am), (PM, pm)):
                    session = "Morning" if s == AM else "Afternoon"
                    word = "" if tok is None else OAK_WORDS[tok]
                    note = OAK_NOTES.get((pupil.adno, d, s), "")
                    rows.append([d.strftime("%d-%m-%Y"), session, adno, learner, word, note])
            if n == 1 and d == UNKNOWN_PUPIL["date"]:
                # A learner who is not ours (another school's pupil on the same course).
                u = UNKNOWN_PUPIL
                rows.append([d.strftime("%d-%m-%Y"), "Afternoon", u["adno"], u["name"], OAK_WORDS["present"], ""])
                REVIEWS.append((name, u["adno"], "unknown-pupil"))
        if n == 1:
            # The correction: the week-1 "Absent" turns out to be a dentist appointment.
            for (adno, d, s), _ in CORRECTIONS.items():
                if PLACEMENT_OF[adno].provider != "oak-farm":
                    continue
                pupil = BY_ADNO[adno]
                rows.append(
                    [
                        d.strftime("%d-%m-%Y"),
                        "Morning" if s == AM else "Afternoon",
                        adno.lstrip("0"),
                        f"{pupil.forename} {pupil.surname}",
                        OAK_WORDS[TRUTH[(adno, d, s)]],
                        "Correction: dentist letter seen",
                    ]
                )
        files[name] = csv_text(rows, ",", "\n").encode("utf-8")
        if n == 0:
            week1 = rows
    # After week 2's correction, the farm re-sends week 1 twice (named to sort after week 2).
    # First as the same rows saved again (a byte order mark, CRLF, trailing blank lines): the
    # same return, so "already imported" with nothing new in review. Then only its Wednesday and
    # Thursday rows: a different return, whose Thursday "Absent" repeats the mark week 2
    # replaced; the register keeps the correction and the row waits for a person.
    files["OakFarm_Attendance_resent_2026-06-08.csv"] = (
        "\ufeff" + csv_text(week1, ",", "\r\n") + "\r\n\r\n"
    ).encode("utf-8")
    partial = "OakFarm_Attendance_resent_2026-06-08_wed-thu.csv"
    midweek = [r for r in week1[1:] if r[0] in (june(10).strftime("%d-%m-%Y"), june(11).strftime("%d-%m-%Y"))]
    files[partial] = csv_text([week1[0]] + midweek, ",", "\n").encode("utf-8")
    for (adno, d, s), _ in CORRECTIONS.items():
        if PLACEMENT_OF[adno].provider == "oak-farm" and d in (june(10), june(11)):
            REVIEWS.append((partial, BY_ADNO[adno].upn, "repeats-replaced"))
    for name, data in files.items():
        put(f"returns/oak-farm/{name}", data)


OAK_FORMAT = """\
# Oak Farm Rural Skills: a weekly CSV (OakFarm_Attendance_YYYY-MM-DD.csv, the week's Monday),
# UTF-8, a row per pupil per session. `Session` says Morning or Afternoon (built-in session words),
# or "All day" for a mark that holds for both. Dates are dd-mm-yyyy. Pupils are named by the
# school's admission number, which the farm writes without its leading zeros (3201 for 003201).
# A later week's file may repeat an earlier session with a corrected mark: it replaces the first.

kind = "csv"
date_formats = ["%d-%m-%Y"]

[identity]
admission_number = "Adm No"

[layout]
style = "long"
date = "Date"
session = "Session"
mark = "Attendance"
comment = "Notes"

[layout.session_values]
"All day" = "both"

[marks.map]
Attended = "present"
Late = "present"                      # arrived before the farm's register closed
"Late after close" = "U"
Ill = "I"
Appointment = "M"                     # medical or dental
Absent = "N"                          # no reason yet
Unauthorised = "O"
Excluded = "E"
Holiday = "G"                         # not agreed by the school
"Authorised absence" = "C"
"Religious observance" = "R"
"""

# ---- 2. city-tutors: wide CSV, headers `08/06/2026 AM`, `;` delimiter, Windows-1252, CRLF, a
#         title row and a key below, surname and forename in two columns with the date of birth.

CITY_NAMES = {  # as the tutors type them: a typographic apostrophe
    "003204": ("O\u2019Connor", "Siân"),
}


def city_mark(token: str | None, session: str) -> str:
    if token is None:
        return ""
    if token == "present":
        return "/" if session == AM else "\\"
    if token == "late":
        return "L"
    return token


def city_tutors() -> None:
    for week in WEEKS:
        name = f"CityTutors register {week[0].strftime('%d-%m-%Y')}.csv"
        columns = [f"{d.strftime('%d/%m/%Y')} {s}" for d in week for s in SESSIONS]
        width = 3 + len(columns)
        pad = lambda cells: cells + [""] * (width - len(cells))  # noqa: E731
        rows = [
            pad(["City Tutors Ltd \u2013 Attendance register"]),
            pad([f"Week beginning {week[0].strftime('%d/%m/%Y')}"]),
            pad([]),
            ["Surname", "Forename", "Date of Birth", *columns],
        ]
        for pupil in pupils_of("city-tutors"):
            surname, forename = CITY_NAMES.get(pupil.adno, (pupil.surname, pupil.forename))
            cells = [surname, forename, pupil.dob.strftime("%d/%m/%Y")]
            for d in week:
                for s in SESSIONS:
                    o = OBSOLETE_CODE
                    if (pupil.adno, d, s) == (o["pupil"], o["date"], o["session"]):
                        cells.append(o["mark"])
                        REVIEWS.append((name, f"{surname}, {forename}", "unknown-mark"))
                    else:
                        cells.append(city_mark(token_at(pupil.adno, d, s), s))
            rows.append(cells)
        rows.append(pad([]))
        rows.append(pad(["Key: / \\ present, L late (before close), blank = not timetabled, other letters are DfE codes"]))
        put(f"returns/city-tutors/{name}", csv_text(rows, ";", "\r\n").encode("cp1252"))


CITY_FORMAT = """\
# City Tutors Ltd: a weekly register (CityTutors register DD-MM-YYYY.csv) saved from Excel on
# Windows: `;` delimiter, Windows-1252, CRLF; a title row and a blank row above the header and a
# key line below it. A row per pupil, a column per session headed `08/06/2026 AM`. Pupils are
# named by surname and forename in two columns, with the date of birth (two pupils may share a
# name; the date of birth tells them apart). The tutors keep DfE codes: `/` and `\\` present,
# `L` late before the register closed; a blank cell means the pupil was not timetabled.

kind = "csv"
encoding = "windows-1252"
delimiter = ";"
date_formats = ["%d/%m/%Y"]
skip_rows_starting_with = ["Key"]

[identity]
surname = "Surname"
forename = "Forename"
date_of_birth = "Date of Birth"

[layout]
style = "wide"
session_columns = "{date} {session}"

[marks]
codes = "dfe"                         # any current statutory code stands for itself

[marks.map]
L = "present"                         # late, before the register closed: attended
"""

# ---- 3. pathways-college: XLSX, two header rows (the date above AM and PM), the pupil by the
#         college's student number (the provider reference on the placement).

PATHWAYS_MARKS = {
    "present": "\u2713",
    "late": "L",
    "U": "LC",
    "I": "S",
    "M": "MED",
    "N": "X",
    "O": "UA",
    "E": "EXC",
    "G": "HOL",
    "C": "AUTH",
    "R": "REL",
}


def pathways_college() -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    for n, week in enumerate(WEEKS):
        name = f"pathways-{week[0].isoformat()}.xlsx"
        wb = Workbook()
        ws = wb.active
        ws.title = "Register"
        ws["A1"] = "Pathways College \u2013 14-16 Programme attendance"
        ws["A1"].font = Font(bold=True, size=14)
        ws["A2"] = f"Week commencing {week[0].strftime('%d %B %Y')}"
        upper, lower = 4, 5
        ws.cell(upper, 1, "Student No").font = Font(bold=True)
        ws.cell(upper, 2, "Student").font = Font(bold=True)
        for i, d in enumerate(week):
            col = 3 + 2 * i
            if n == 0:
                # Week 1: a real date cell, merged over its AM and PM columns.
                cell = ws.cell(upper, col, datetime(d.year, d.month, d.day))
                cell.number_format = "ddd dd/mm/yyyy"
                ws.merge_cells(start_row=upper, start_column=col, end_row=upper, end_column=col + 1)
            else:
                # Week 2: the date as text in the left cell, the right cell simply blank.
                cell = ws.cell(upper, col, d.strftime("%a %d/%m/%Y"))
            cell.alignment = Alignment(horizontal="center")
            cell.font = Font(bold=True)
            ws.cell(lower, col, "AM")
            ws.cell(lower, col + 1, "PM")
        row = lower + 1
        for pupil in pupils_of("pathways-college"):
            pl = PLACEMENT_OF[pupil.adno]
            ws.cell(row, 1, pl.ref)
            ws.cell(row, 2, f"{pupil.forename} {pupil.surname}")
            for i, d in enumerate(week):
                for j, s in enumerate(SESSIONS):
                    o = OUTSIDE_PLACEMENT
                    if (pupil.adno, d, s) == (o["pupil"], o["date"], o["session"]):
                        # A session the placement does not cover (she came in on a Thursday).
                        mark = PATHWAYS_MARKS["present"]
                        REVIEWS.append((name, pl.ref, "outside-placement"))
                    else:
                        tok = token_at(pupil.adno, d, s)
                        mark = "" if tok is None else PATHWAYS_MARKS[tok]
                    if mark:
                        ws.cell(row, 3 + 2 * i + j, mark).alignment = Alignment(horizontal="center")
            row += 1
        ws.cell(row + 1, 1, "Key: \u2713 present, L late, LC late after close, S sick, MED medical, X absent, "
                "UA unauthorised, EXC excluded, HOL holiday, AUTH authorised, REL religious observance")
        ws.column_dimensions["A"].width = 12
        ws.column_dimensions["B"].width = 20
        put(f"returns/pathways-college/{name}", reproducible_xlsx(wb))


def reproducible_xlsx(wb) -> bytes:
    """The workbook's bytes with fixed timestamps, so regenerating changes nothing."""
    stamp = datetime(2026, 6, 19, 16, 0, 0)
    wb.properties.creator = "Pathways College MIS"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                start = text.find("<dcterms:modified")
                end = text.find("</dcterms:modified>")
                if start >= 0 and end > start:
                    head = text[start : text.index(">", start) + 1]
                    text = text[:start] + head + "2026-06-19T16:00:00Z" + text[end:]
                data = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 6, 19, 16, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)
    return out.getvalue()


PATHWAYS_FORMAT = """\
# Pathways College: a weekly workbook (pathways-YYYY-MM-DD.xlsx), sheet `Register`, with a title
# and a blank row above TWO header rows: the day's date written once above its AM and PM columns
# (a date cell merged over both, or a text date such as `Mon 15/06/2026` with the right-hand cell
# left blank), and `AM` / `PM` below. Pupils are named by the college's student number, recorded
# as the provider reference on the placement. A blank cell means not timetabled.

kind = "xlsx"
sheet = "Register"
header_rows = 2
date_formats = ["%a %d/%m/%Y"]        # text dates; date cells need no pattern

[identity]
provider_ref = "Student No"

[layout]
style = "wide"
session_columns = "{date} {session}"  # the upper text (the date) and the lower (AM/PM) together

[marks.map]
"\u2713" = "present"
L = "present"                         # late, before the register closed
LC = "U"                              # late, after it closed
S = "I"                               # sick
MED = "M"
X = "N"                               # absent, no reason yet
UA = "O"
EXC = "E"
HOL = "G"
AUTH = "C"
REL = "R"
"""

# ---- 4. ring-fit-boxing: long, tab-separated, UTF-8 with a BOM, separate AM and PM columns each
#         with its own reason column; `A` defers to the reason (a blank reason is N); by UPN.

RING_REASONS = {
    "I": "Illness",
    "M": "Medical appointment",
    "N": "",
    "O": "Refused to train",
    "E": "Excluded",
    "G": "holiday",  # case does not matter
    "C": "Family bereavement",
    "R": "Religious festival",
}


def ring_mark(token: str | None) -> tuple[str, str]:
    if token is None:
        return "", ""
    if token == "present":
        return "P", ""
    if token == "late":
        return "L", ""
    if token == "U":
        return "LC", ""
    return "A", RING_REASONS[token]


def ring_fit_boxing() -> None:
    header = ["UPN", "Name", "Date", "AM", "AM Reason", "PM", "PM Reason"]
    for week in WEEKS:
        iso_week = week[0].isocalendar().week
        name = f"ringfit_week_{iso_week}.txt"
        rows = [header]
        for pupil in pupils_of("ring-fit-boxing"):
            for d in week:
                if (pupil.adno, d, AM) not in TRUTH:
                    continue
                upn = pupil.upn
                am, am_reason = ring_mark(token_at(pupil.adno, d, AM))
                pm, pm_reason = ring_mark(token_at(pupil.adno, d, PM))
                i = INVALID_UPN
                if (pupil.adno, d) == (i["pupil"], i["date"]):
                    # The coach retyped the UPN with two digits swapped; the row reached us with
                    # only the morning filled in.
                    upn = BAD_UPN
                    am, am_reason = ring_mark("present")
                    pm, pm_reason = "", ""
                    REVIEWS.append((name, BAD_UPN, "invalid-identifier"))
                rows.append([upn, f"{pupil.forename} {pupil.surname}", d.strftime("%d/%m/%y"), am, am_reason, pm, pm_reason])
        put(f"returns/ring-fit-boxing/{name}", b"\xef\xbb\xbf" + csv_text(rows, "\t", "\n").encode("utf-8"))


RING_FORMAT = """\
# Ring Fit Boxing Academy: a weekly export (ringfit_week_NN.txt, the ISO week number), tab
# separated, UTF-8 with a byte order mark. A row per pupil per day with an `AM` and a `PM` column,
# each with its own reason column. Marks: P present, L late (before the register closed), LC late
# after it closed, A absent: an A takes its code from that session's reason, and an A with no
# reason is N (no reason yet). Pupils are named by UPN; dates are dd/mm/yy.

kind = "csv"
encoding = "utf-8"
delimiter = "\\t"
date_formats = ["%d/%m/%y"]

[identity]
upn = "UPN"

[layout]
style = "long"
date = "Date"
am = "AM"
am_reason = "AM Reason"
pm = "PM"
pm_reason = "PM Reason"

[marks.map]
P = "present"
L = "present"
LC = "U"
A = "reason"

[marks.reasons]
Illness = "I"
"Medical appointment" = "M"
"Refused to train" = "O"
Excluded = "E"
Holiday = "G"
"Family bereavement" = "C"
"Religious festival" = "R"
"" = "N"                              # absent, no reason given yet
"""

# ---- 5. bridge-tuition: JSON pages (`results`), the pupil by admission number, the day's two
#         sessions as `sessions.morning.code` and `sessions.afternoon.code`, provider codes.

BRIDGE_CODES = {
    "present": "ATT",
    "late": "LATE",
    "U": "LATE_CLOSED",
    "I": "SICK",
    "M": "MEDICAL",
    "N": "NOSHOW",
    "O": "UNAUTH",
    "E": "EXCL",
    "G": "HOLS",
    "C": "AUTH",
    "R": "RELIG",
}


def bridge_tuition() -> None:
    record_id = 48100
    pages = []
    for n, week in enumerate(WEEKS):
        results = []

        def record(pupil: Pupil, d: date, am: str | None, pm: str | None, note: str | None = None) -> None:
            nonlocal record_id
            record_id += 1
            # Page 1 sends admission numbers as numbers, page 2 as text with the leading zeros.
            adno: int | str = int(pupil.adno) if n == 0 else pupil.adno
            code = lambda tok: None if tok is None else BRIDGE_CODES[tok]  # noqa: E731
            results.append(
                {
                    "id": record_id,
                    "pupil": {"admissionNo": adno, "displayName": f"{pupil.forename} {pupil.surname[0]}."},
                    "day": d.isoformat(),
                    "sessions": {"morning": {"code": code(am)}, "afternoon": {"code": code(pm)}},
                    "note": note,
                }
            )

        for d in week:
            for pupil in pupils_of("bridge-tuition"):
                if (pupil.adno, d, AM) in TRUTH:
                    record(pupil, d, token_at(pupil.adno, d, AM, n > 0), token_at(pupil.adno, d, PM, n > 0))
            s = NOT_A_SCHOOL_DAY
            if n == 0 and d + timedelta(days=1) == s["date"]:
                # A Saturday holiday-club session, logged like any other.
                record(BY_ADNO[s["pupil"]], s["date"], "present", None, "Saturday club")
                REVIEWS.append(("bridge-page-1.json", str(int(s["pupil"])), "not-a-school-day"))
        if n == 1:
            for (adno, d, s), _ in CORRECTIONS.items():
                if PLACEMENT_OF[adno].provider == "bridge-tuition":
                    pupil = BY_ADNO[adno]
                    record(pupil, d, TRUTH[(adno, d, AM)], TRUTH[(adno, d, PM)], "updated: hospital letter")
        pages.append(results)
    for n, results in enumerate(pages, start=1):
        doc = {
            "page": n,
            "pageCount": len(pages),
            "next": f"https://api.bridge-tuition.example/v2/attendance?page={n + 1}" if n < len(pages) else None,
            "results": results,
        }
        put(f"returns/bridge-tuition/bridge-page-{n}.json", (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


BRIDGE_FORMAT = """\
# Bridge Tuition Centre: its attendance API, one JSON document per page (bridge-page-N.json);
# `results` holds the records, `next` the next page's address. A record is one pupil's day:
# `pupil.admissionNo` (a number, or text with the leading zeros), `day` (ISO) and the two
# sessions' codes in `sessions.morning.code` and `sessions.afternoon.code` (null: not recorded).
# A later page may repeat a day with updated codes: the update replaces the earlier mark.
# The centre is arranged by the local authority, so its "present" is K (see apsync.toml).

kind = "json"
records = "results"

[identity]
admission_number = "pupil.admissionNo"

[layout]
style = "long"
date = "day"
am = "sessions.morning.code"
pm = "sessions.afternoon.code"

[marks.map]
ATT = "present"
LATE = "present"                      # arrived before the register closed
LATE_CLOSED = "U"
SICK = "I"
MEDICAL = "M"
NOSHOW = "N"
UNAUTH = "O"
EXCL = "E"
HOLS = "G"
AUTH = "C"
RELIG = "R"
"""

FORMATS = {
    "oak-farm": OAK_FORMAT,
    "city-tutors": CITY_FORMAT,
    "pathways-college": PATHWAYS_FORMAT,
    "ring-fit-boxing": RING_FORMAT,
    "bridge-tuition": BRIDGE_FORMAT,
}

# Each vocabulary the returns are written with must read back, through the hand-written format,
# as the truth's code: a check on the fixture's own consistency (not on apsync).
VOCABULARIES = {
    "oak-farm": OAK_WORDS,
    "pathways-college": PATHWAYS_MARKS,
    "bridge-tuition": BRIDGE_CODES,
}


def check_formats() -> None:
    def norm(text: str) -> str:
        return "".join(text.split()).lower()

    for provider, words in VOCABULARIES.items():
        table = {norm(k): v for k, v in tomllib.loads(FORMATS[provider])["marks"]["map"].items()}
        for token, word in words.items():
            want = "present" if token in ("present", "late") else token
            assert table.get(norm(word)) == want, (provider, word, table.get(norm(word)), want)
    ring = tomllib.loads(RING_FORMAT)["marks"]
    reasons = {norm(k): v for k, v in ring["reasons"].items()}
    for token, reason in RING_REASONS.items():
        assert reasons.get(norm(reason)) == token, (reason, token)


# --------------------------------------------------------------------------------------------
# Roster and configuration.


def roster() -> None:
    pupils = [["UPN", "Adno", "Legal Surname", "Legal Forename", "DOB", "Year"]]
    for p in PUPILS:
        pupils.append([p.upn, p.adno, p.surname, p.forename, p.dob.isoformat(), str(p.year)])
    put("roster/pupils.csv", csv_text(pupils).encode("utf-8"))
    placements = [["UPN", "Provider", "Provider Ref", "Start", "End", "Days"]]
    for pl in PLACEMENTS:
        placements.append(
            [BY_ADNO[pl.adno].upn, pl.provider, pl.ref, pl.start.isoformat(), pl.end.isoformat(), " ".join(pl.days)]
        )
    put("roster/placements.csv", csv_text(placements).encode("utf-8"))


PROVIDER_EXTRAS = {
    "oak-farm": 'ukprn = "10087421"\nqa_approval_expires = "2027-03-31"\ncontact_email = "learning@oakfarm.example"\n',
    "city-tutors": 'urn = "148203"\nqa_approval_expires = "2026-12-31"\ncontact_email = "registers@citytutors.example"\n',
    "pathways-college": 'ukprn = "10004733"\ncontact_email = "1416team@pathways.example"\n',
    "ring-fit-boxing": 'qa_approval_expires = "2026-09-30"\ncontact_email = "coach@ringfit.example"\n',
    "bridge-tuition": 'urn = "131977"\ncontact_email = "attendance@bridge-tuition.example"\n',
}


def configuration(
    prefix: str = "",
    providers: list[Provider] = PROVIDERS,
    extras: dict[str, str] = PROVIDER_EXTRAS,
    formats: dict[str, str] | None = None,
    intro: tuple[str, ...] = (
        "# apsync's own fixture set: the school of config/apsync.example.toml with five invented",
        "# providers, one per file family. Generated by scripts/make-fixtures.py (edit that, not this).",
    ),
) -> None:
    text = EXAMPLE_CONFIG_TEXT
    start = text.index("[school]")
    end = re.search(r"^\[\[provider\]\]", text, re.M).start()
    # Drop the comment lines that introduce the providers in the example.
    shared = text[start:end].rstrip().split("\n")
    while shared and shared[-1].startswith("#"):
        shared.pop()
    out = [
        *intro,
        "# The database line is the example's, so tests and `apsync demo` can move it.",
        "",
        "\n".join(shared).rstrip(),
        "",
    ]
    for p in providers:
        out += [
            f"# {p.name}: {p.description}.",
            "[[provider]]",
            f'id = "{p.id}"',
            f'name = "{p.name}"',
            f'present_code = "{p.present_code}"',
            extras[p.id].rstrip(),
            f'format_file = "formats/{p.id}.toml"',
            "",
        ]
    # Everything after the example's providers (the visit intake, roles, email, alert rules) is the
    # same school's, so it is carried over as it is.
    tail_start = re.search(r"^# --- Visit logs|^\[http\]", text, re.M).start()
    out += [text[tail_start:].rstrip(), ""]
    config = "\n".join(out)
    assert 'url = "sqlite:///var/lib/apsync/apsync.db"' in config
    parsed = tomllib.loads(config)
    assert [p["id"] for p in parsed["provider"]] == [p.id for p in providers]
    put(f"{prefix}apsync.toml", config.encode("utf-8"))
    for provider, fmt in (FORMATS if formats is None else formats).items():
        tomllib.loads(fmt)
        put(f"{prefix}formats/{provider}.toml", fmt.encode("utf-8"))


# --------------------------------------------------------------------------------------------
# The oracle: what apsync must end with.


def pct(attended: int, possible: int) -> str:
    """attended/possible as a percentage to one decimal, half away from zero, exactly."""
    if possible == 0:
        return ""
    tenths = (attended * 1000 * 2 + possible) // (2 * possible)  # round(attended*1000/possible)
    return f"{tenths // 10}.{tenths % 10}"


assert pct(1, 8) == "12.5" and pct(2, 3) == "66.7" and pct(1, 3) == "33.3" and pct(19, 19) == "100.0"
assert pct(1, 16) == "6.3" and pct(0, 4) == "0.0"


def expected(
    prefix: str = "",
    truth: dict[tuple[str, date, str], str | None] | None = None,
    placement_of: dict[str, Placement] = PLACEMENT_OF,
    providers: dict[str, Provider] = PROVIDER,
    reviews: list[tuple[str, str, str]] = REVIEWS,
) -> None:
    marks = []
    for (adno, d, s), tok in (TRUTH if truth is None else truth).items():
        if tok is None:
            continue
        provider = placement_of[adno].provider
        marks.append((BY_ADNO[adno].upn, d.isoformat(), s, code_of(tok, providers[provider]), provider))
    marks.sort(key=lambda m: (m[0], m[1], SESSIONS.index(m[2])))
    put(f"{prefix}expected/marks.csv", csv_text([["upn", "date", "session", "code", "provider"], *map(list, marks)]).encode())

    rows = sorted(csv_text([list(r)]) for r in reviews)
    put(f"{prefix}expected/review.csv", ("file,locator,kind\n" + "".join(rows)).encode("utf-8"))

    totals: dict[str, list[int]] = {}
    for upn, _, _, code, _ in marks:
        t = totals.setdefault(upn, [0, 0, 0, 0])
        group = STATS[code]
        if group == "NC":
            continue
        t[0] += 1
        t[{"ATT": 1, "AUTH": 2, "UNAUTH": 3}[group]] += 1
    lines = [["upn", "possible", "attended", "authorised", "unauthorised", "attendance_pct"]]
    for upn in sorted(totals):
        possible, attended, authorised, unauthorised = totals[upn]
        assert possible == attended + authorised + unauthorised
        lines.append([upn, str(possible), str(attended), str(authorised), str(unauthorised), pct(attended, possible)])
    put(f"{prefix}expected/attendance.csv", csv_text(lines).encode())


# ============================================================================================
# The online family (fixtures/online/): a second set with its OWN truth table, for the two shapes
# a session comes in besides a session word or an AM/PM column: a lesson's start time (a date and
# time in one column, read against the format's AM/PM ranges), and an API record per pupil per day
# whose sessions are a list, each item saying its own period. The same school and pupils; its own
# providers, placements, returns and expected register.

ONLINE_PROVIDERS = [
    Provider("bright-sparks", "Bright Sparks Online", "B", "live online lessons, exported a row per lesson with its start time"),
    Provider("northway-mentoring", "Northway Mentoring", "B", "a mentoring service's API: a record per pupil per day, its sessions a list"),
]
ONLINE_PROVIDER = {p.id: p for p in ONLINE_PROVIDERS}
ONLINE_PLACEMENTS = [
    Placement("003202", "bright-sparks", "BSO-5521", date(2026, 1, 5), date(2026, 7, 17), FULL_WEEK),
    Placement("003207", "bright-sparks", "BSO-5534", date(2026, 4, 13), date(2026, 7, 17), ("Mon", "Wed", "Fri")),
    Placement("003211", "bright-sparks", "BSO-5540", date(2026, 1, 5), date(2026, 7, 17), ("Tue", "Thu")),
    Placement("003204", "northway-mentoring", "NW-880", date(2026, 1, 5), date(2026, 7, 17), FULL_WEEK),
    Placement("003213", "northway-mentoring", "NW-891", date(2026, 4, 13), date(2026, 7, 17), ("Mon", "Tue", "Wed")),
    Placement("003216", "northway-mentoring", "NW-902", date(2026, 6, 1), date(2026, 7, 17), ("Thu", "Fri")),
]
ONLINE_PLACEMENT_OF = {p.adno: p for p in ONLINE_PLACEMENTS}

ONLINE_EXCEPTIONS: dict[tuple[str, date, str], str | None] = {
    # bright-sparks (a row per lesson, its start time gives the session)
    ("003202", june(8), PM): "late",
    ("003202", june(9), AM): "I",
    ("003202", june(9), PM): "I",
    ("003202", june(12), AM): "N",
    ("003202", june(16), PM): "O",
    ("003202", june(18), AM): None,  # the row's UPN is mistyped: review, no mark
    ("003207", june(10), AM): "M",
    ("003207", june(15), PM): "C",
    ("003207", june(19), AM): None,  # no lesson booked
    ("003211", june(11), PM): "N",
    ("003211", june(16), AM): "late",
    ("003211", june(18), PM): "I",
    # northway-mentoring (JSON, the sessions a list of {period, status, reason})
    ("003204", june(8), AM): "late",
    ("003204", june(10), PM): "I",  # first sent as absent without a reason (N); corrected by a PM-only record
    ("003204", june(12), PM): None,  # the record lists the morning only
    ("003204", june(17), AM): "M",
    ("003204", june(17), PM): "M",
    ("003213", june(9), AM): "O",
    ("003213", june(15), PM): "U",
    ("003213", june(17), AM): "N",
    ("003216", june(11), AM): "I",
    ("003216", june(11), PM): "I",
    ("003216", june(19), PM): "C",
}
ONLINE_CORRECTIONS: dict[tuple[str, date, str], str] = {
    ("003204", june(10), PM): "N",
}
ONLINE_REVIEWS: list[tuple[str, str, str]] = []


def build_online_truth() -> dict[tuple[str, date, str], str | None]:
    truth: dict[tuple[str, date, str], str | None] = {}
    for pl in ONLINE_PLACEMENTS:
        for d in SCHOOL_DAYS:
            if pl.expects(d):
                for s in SESSIONS:
                    truth[(pl.adno, d, s)] = ONLINE_EXCEPTIONS.get((pl.adno, d, s), "present")
    unknown = set(ONLINE_EXCEPTIONS) - set(truth)
    assert not unknown, f"exceptions for sessions no placement expects: {sorted(unknown)}"
    assert set(ONLINE_CORRECTIONS) <= set(truth)
    return truth


ONLINE_TRUTH = build_online_truth()


def online_token(adno: str, d: date, s: str, corrected: bool = True) -> str | None:
    if not corrected and (adno, d, s) in ONLINE_CORRECTIONS:
        return ONLINE_CORRECTIONS[(adno, d, s)]
    return ONLINE_TRUTH.get((adno, d, s))


def online_pupils(provider: str) -> list[Pupil]:
    return [BY_ADNO[p.adno] for p in ONLINE_PLACEMENTS if p.provider == provider]


# ---- 6. bright-sparks: a weekly CSV, a row per lesson. `Lesson Start` holds the date and the
#         start time together (week 1 ISO, `2026-06-08T09:30:00`; week 2 `15/06/2026 13:15`); the
#         format's ranges say 08:30-12:30 is the morning and 12:30-16:00 the afternoon, so a 12:15
#         lesson is a morning one (by the default ranges it would be the afternoon's). An evening
#         catch-up lesson at 17:30 is in neither: review. Pupils by the provider's student ID, with
#         the UPN beside it; one row's UPN is mistyped (review, shown by that UPN).

SPARKS_WORDS = {
    "present": "Attended",
    "late": "Joined late",
    "I": "Ill",
    "M": "Medical",
    "N": "No show",
    "O": "Unauthorised",
    "C": "Authorised",
}
SPARKS_AM_STARTS = ["09:00", "10:45", "12:15"]  # 12:15: the morning, by this provider's ranges
SPARKS_PM_STARTS = ["12:30", "13:15", "14:40"]
SPARKS_EVENING = {"pupil": "003211", "date": june(9), "start": "17:30"}
SPARKS_BAD_UPN = {"pupil": "003202", "date": june(18), "session": AM}


def sparks_start(d: date, s: str, week: int) -> str:
    starts = SPARKS_AM_STARTS if s == AM else SPARKS_PM_STARTS
    hm = starts[(d.toordinal() + (0 if s == AM else 1)) % 3]
    return stamp(d, hm, week)


def stamp(d: date, hm: str, week: int) -> str:
    return f"{d.isoformat()}T{hm}:00" if week == 0 else f"{d.strftime('%d/%m/%Y')} {hm}"


def bright_sparks() -> None:
    header = ["Student ID", "UPN", "Student", "Lesson Start", "Subject", "Attendance"]
    subjects = {AM: "English", PM: "Maths"}
    for n, week in enumerate(WEEKS):
        name = f"BrightSparks_lessons_{week[0].isoformat()}.csv"
        rows = [header]
        for d in week:
            for pupil in online_pupils("bright-sparks"):
                pl = ONLINE_PLACEMENT_OF[pupil.adno]
                if not pl.expects(d):
                    continue
                for s in SESSIONS:
                    tok = online_token(pupil.adno, d, s)
                    upn = pupil.upn
                    b = SPARKS_BAD_UPN
                    if (pupil.adno, d, s) == (b["pupil"], b["date"], b["session"]):
                        # A valid student ID beside a UPN with two digits swapped.
                        upn = mistyped(pupil.upn)
                        tok = "present"
                        ONLINE_REVIEWS.append((name, upn, "invalid-identifier"))
                    elif tok is None:
                        continue  # no lesson booked: no row
                    rows.append([pl.ref, upn, f"{pupil.forename} {pupil.surname}", sparks_start(d, s, n), subjects[s], SPARKS_WORDS[tok]])
                e = SPARKS_EVENING
                if (pupil.adno, d) == (e["pupil"], e["date"]):
                    rows.append([pl.ref, pupil.upn, f"{pupil.forename} {pupil.surname}", stamp(d, e["start"], n), "Catch-up", SPARKS_WORDS["present"]])
                    ONLINE_REVIEWS.append((name, pl.ref, "unreadable-row"))
        put(f"online/returns/bright-sparks/{name}", csv_text(rows).encode("utf-8"))


SPARKS_FORMAT = """\
# Bright Sparks Online: live online lessons, a weekly CSV (BrightSparks_lessons_YYYY-MM-DD.csv)
# with a row per lesson. `Lesson Start` holds the lesson's date and start time together
# (`2026-06-08T09:30:00`, or `15/06/2026 13:15`): the start time says the session. Lessons run
# 08:30 to 12:30 in the morning and 12:30 to 16:00 in the afternoon, so a lesson starting at 12:15
# is a morning one; a lesson outside both (an evening catch-up) goes to review. Pupils are named
# by the provider's student ID (the placement's reference), with the UPN beside it.

kind = "csv"
date_formats = ["%d/%m/%Y"]

[identity]
provider_ref = "Student ID"
upn = "UPN"

[layout]
style = "long"
datetime = "Lesson Start"             # gives the date and, by its time, the session
mark = "Attendance"
comment = "Subject"

[layout.session_times]
am = "08:30-12:30"
pm = "12:30-16:00"

[marks.map]
Attended = "present"
"Joined late" = "present"             # joined before the register closed
Ill = "I"
Medical = "M"
"No show" = "N"
Unauthorised = "O"
Authorised = "C"
"""

# ---- 7. northway-mentoring: its API, one JSON document per page (northway-feed-N.json). A record
#         is one pupil's day; its sessions are a LIST of {period, status, reason}, in any order,
#         listing only the sessions it has news of. Page 2 is a changes feed: besides week 2 it
#         sends a record listing only the afternoon of a week-1 day, whose absence now has a reason.
#         Read by position (`sessions.0`), that afternoon mark would land on the morning.

NORTHWAY_STATUS = {
    "present": ("present", None),
    "late": ("late", "before_close"),
    "U": ("late", "after_close"),
    "I": ("absent", "illness"),
    "M": ("absent", "medical"),
    "N": ("absent", None),
    "O": ("absent", "unauthorised"),
    "C": ("absent", "authorised"),
}


def northway_mentoring() -> None:
    record_id = 7700
    pages = []
    for n, week in enumerate(WEEKS):
        results = []

        def record(pupil: Pupil, d: date, sessions: list[tuple[str, str]]) -> None:
            nonlocal record_id
            record_id += 1
            items = []
            for s, tok in sessions:
                status, reason = NORTHWAY_STATUS[tok]
                item = {"period": s, "status": status}
                if reason is not None:
                    item["reason"] = reason
                items.append(item)
            results.append(
                {
                    "id": record_id,
                    "learner": {"id": ONLINE_PLACEMENT_OF[pupil.adno].ref, "upn": pupil.upn},
                    "date": d.isoformat(),
                    "sessions": items,
                }
            )

        for d in week:
            for pupil in online_pupils("northway-mentoring"):
                if not ONLINE_PLACEMENT_OF[pupil.adno].expects(d):
                    continue
                listed = [(s, online_token(pupil.adno, d, s, n > 0)) for s in SESSIONS]
                listed = [(s, tok) for s, tok in listed if tok is not None]
                if d.day % 2:
                    listed.reverse()  # the API lists the afternoon first on some days
                if listed:
                    record(pupil, d, listed)
        if n == 1:
            for (adno, d, s), _ in ONLINE_CORRECTIONS.items():
                record(BY_ADNO[adno], d, [(s, ONLINE_TRUTH[(adno, d, s)])])
        pages.append(results)
    for n, results in enumerate(pages, start=1):
        doc = {"page": n, "hasMore": n < len(pages), "data": results}
        put(f"online/returns/northway-mentoring/northway-feed-{n}.json", (json.dumps(doc, indent=2) + "\n").encode("utf-8"))


NORTHWAY_FORMAT = """\
# Northway Mentoring: its API, one JSON document per page (northway-feed-N.json); `data` holds
# the records. A record is one pupil's day, and its sessions are a list: each item says its own
# `period` (AM or PM), a `status` and sometimes a `reason`. A record lists only the sessions it
# has news of (the feed sends changes), in any order, so each item is read with its own period
# (`sessions[].period`), never by its place in the list (`sessions.0`).

kind = "json"
records = "data"

[identity]
provider_ref = "learner.id"
upn = "learner.upn"

[layout]
style = "long"
date = "date"
session = "sessions[].period"
mark = "sessions[].status"
reason = "sessions[].reason"

[marks.map]
present = "present"
late = "reason"
absent = "reason"

[marks.reasons_for.late]
before_close = "present"
after_close = "U"

[marks.reasons_for.absent]
illness = "I"
medical = "M"
unauthorised = "O"
authorised = "C"
"" = "N"                              # no reason yet
"""

ONLINE_FORMATS = {"bright-sparks": SPARKS_FORMAT, "northway-mentoring": NORTHWAY_FORMAT}
ONLINE_EXTRAS = {
    "bright-sparks": 'ukprn = "10091234"\ncontact_email = "register@brightsparks.example"\n',
    "northway-mentoring": 'contact_email = "data@northway.example"\n',
}


def check_online_formats() -> None:
    def norm(text: str) -> str:
        return "".join(text.split()).lower()

    table = {norm(k): v for k, v in tomllib.loads(SPARKS_FORMAT)["marks"]["map"].items()}
    for token, word in SPARKS_WORDS.items():
        want = "present" if token in ("present", "late") else token
        assert table.get(norm(word)) == want, (word, want)
    marks = tomllib.loads(NORTHWAY_FORMAT)["marks"]
    for token, (status, reason) in NORTHWAY_STATUS.items():
        rule = marks["map"][status]
        if rule == "reason":
            rule = marks["reasons_for"][status][reason or ""]
        assert rule == ("present" if token in ("present", "late") else token), (token, rule)
    ranges = tomllib.loads(SPARKS_FORMAT)["layout"]["session_times"]
    span = lambda text: tuple(int(h) * 60 + int(m) for h, m in (t.split(":") for t in text.split("-")))  # noqa: E731
    am, pm = span(ranges["am"]), span(ranges["pm"])
    for starts, (lo, hi) in ((SPARKS_AM_STARTS, am), (SPARKS_PM_STARTS, pm)):
        for hm in starts:
            h, m = map(int, hm.split(":"))
            assert lo <= h * 60 + m < hi, hm
    h, m = map(int, SPARKS_EVENING["start"].split(":"))
    assert not any(lo <= h * 60 + m < hi for lo, hi in (am, pm))
    assert "12:15" in SPARKS_AM_STARTS, "a morning lesson the default ranges would call the afternoon"


def online_family() -> None:
    check_online_formats()
    placements = [["UPN", "Provider", "Provider Ref", "Start", "End", "Days"]]
    for pl in ONLINE_PLACEMENTS:
        placements.append([BY_ADNO[pl.adno].upn, pl.provider, pl.ref, pl.start.isoformat(), pl.end.isoformat(), " ".join(pl.days)])
    pupils = [["UPN", "Adno", "Legal Surname", "Legal Forename", "DOB", "Year"]]
    for p in PUPILS:
        pupils.append([p.upn, p.adno, p.surname, p.forename, p.dob.isoformat(), str(p.year)])
    put("online/roster/pupils.csv", csv_text(pupils).encode("utf-8"))
    put("online/roster/placements.csv", csv_text(placements).encode("utf-8"))
    configuration(
        "online/",
        ONLINE_PROVIDERS,
        ONLINE_EXTRAS,
        ONLINE_FORMATS,
        (
            "# apsync's own fixture set, the online family: the school of config/apsync.example.toml with",
            "# two providers whose sessions are told by a start time, or listed inside a JSON record.",
            "# Generated by scripts/make-fixtures.py (edit that, not this).",
        ),
    )
    bright_sparks()
    northway_mentoring()
    assert sorted(k for _, _, k in ONLINE_REVIEWS) == ["invalid-identifier", "unreadable-row"], ONLINE_REVIEWS
    expected("online/", ONLINE_TRUTH, ONLINE_PLACEMENT_OF, ONLINE_PROVIDER, ONLINE_REVIEWS)


README = """\
# apsync's own fixtures

Generated by `scripts/make-fixtures.py` from one truth table (edit the script, then run it; do not
edit these files by hand). A school (the calendar of `config/apsync.example.toml`), sixteen pupils,
five invented providers and their returns for the fortnight 8 to 19 June 2026, with the register,
review queue and attendance report that importing them must produce. The tests in
`tests/files/fixtures_golden.rs` import them on SQLite and PostgreSQL; they are also the `apsync demo`
data.

| folder | what |
|---|---|
| `apsync.toml`, `formats/` | the configuration and one format per provider (docs/formats.md) |
| `roster/` | the MIS export (`pupils.csv`) and the placements |
| `returns/<provider>/` | the providers' returns, imported in name order |
| `expected/` | `marks.csv`, `review.csv` (file, the row's identifier, kind), `attendance.csv` |

| provider | files | family |
|---|---|---|
| oak-farm | `OakFarm_Attendance_YYYY-MM-DD.csv`, weekly | long CSV, a `Session` column of Morning / Afternoon / All day, dates dd-mm-yyyy, pupils by admission number without leading zeros, words (Attended, Late, Ill, ...); week 2 corrects a week-1 "Absent", then week 1 is re-sent twice: saved again (other bytes, the same return: already imported) and cut to Wednesday and Thursday (its "Absent" repeats the replaced mark: the correction stays, the row goes to review) |
| city-tutors | `CityTutors register DD-MM-YYYY.csv`, weekly | wide CSV, headers `08/06/2026 AM`, `;`, Windows-1252, CRLF, title rows and a key line, surname + forename + date of birth (two pupils called Jack Ellis), DfE codes |
| pathways-college | `pathways-YYYY-MM-DD.xlsx`, weekly | XLSX with two header rows: the date (a merged date cell, or text with a blank cell to its right) above AM / PM; pupils by the college's student number (the placement's provider reference); marks such as a tick, S, MED, X |
| ring-fit-boxing | `ringfit_week_NN.txt`, weekly | tab-separated, UTF-8 with BOM, `AM` / `PM` columns each with its own reason column; `A` takes its code from the reason (blank: N); pupils by UPN |
| bridge-tuition | `bridge-page-N.json` | two pages of a JSON API (`results`), `pupil.admissionNo`, `day`, `sessions.morning.code` / `sessions.afternoon.code`; present is K (arranged by the local authority); page 2 corrects a page-1 NOSHOW |

Each of these goes to review, once: an unknown pupil (oak-farm, admission number 3999), an
obsolete code `H` (city-tutors), a mark on a day the placement does not cover (pathways-college, a
Thursday), a mistyped UPN (ring-fit-boxing), a Saturday session (bridge-tuition), and a re-sent
old return's mark that a later return corrected (oak-farm). Grace Adeyemi is on roll and placed
nowhere.

## The online family (`online/`)

A second set with its own truth table, configuration, placements, returns and expected files, in
the same layout (`online/apsync.toml`, `online/formats/`, `online/roster/`, `online/returns/`,
`online/expected/`), for sessions that are not given by a session word or an AM/PM column. The
same school and pupils, two other providers:

| provider | files | family |
|---|---|---|
| bright-sparks | `BrightSparks_lessons_YYYY-MM-DD.csv`, weekly | a row per online lesson; `Lesson Start` holds the date and start time together (week 1 `2026-06-08T12:15:00`, week 2 `15/06/2026 13:15`), read with `layout.datetime` against the format's own ranges (08:30-12:30 AM, 12:30-16:00 PM: a 12:15 lesson is a morning one); pupils by student ID with the UPN beside it |
| northway-mentoring | `northway-feed-N.json` | an API's pages, a record per pupil per day whose `sessions` are a list of `{period, status, reason}` in any order, read with `sessions[].period`; a record lists only the sessions it has news of, and page 2 sends a record listing only a week-1 afternoon, which must replace that afternoon and leave the morning alone |

Two rows go to review: an evening catch-up lesson at 17:30, in neither session (bright-sparks,
`unreadable-row`, listed by the student ID), and a row whose UPN is mistyped beside a valid student
ID (bright-sparks, `invalid-identifier`, listed by the mistyped UPN, not the valid ID).
"""


def main() -> None:
    check_formats()
    roster()
    configuration()
    oak_farm()
    city_tutors()
    pathways_college()
    ring_fit_boxing()
    bridge_tuition()
    assert len(REVIEWS) == 6 and len({k for _, _, k in REVIEWS}) == 6, REVIEWS
    expected()
    online_family()
    put("README.md", README.encode("utf-8"))
    if OUT.exists():
        shutil.rmtree(OUT)
    for path, data in sorted(FILES.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(FILES)} files under {OUT.relative_to(ROOT)}/", file=sys.stderr)


if __name__ == "__main__":
    main()
