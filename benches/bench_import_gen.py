#!/usr/bin/env python3
"""Generates the inputs of scripts/bench-import in one folder.

    bench_import_gen.py --repo /work/main --out DIR --pupils N --days D [--seed S]

Writes into DIR:
  apsync.toml          the example configuration, its SQLite url pointing into DIR
  formats/*.toml       the example formats; bright-futures.toml with raised [limits]
  pupils.csv           the MIS export: N pupils with valid UPNs
  placements.csv       N bright-futures placements, refs BF-00001..., Mon-Fri, covering the range
  bright-futures.csv   ONE long return: N pupils x D school days x AM/PM = 2*N*D rows
  bright-futures-corrections.csv
                       the same return sent again with 10% of the marks changed (a present
                       mark becomes N, an absence becomes present): the provider's corrections
  meta.json            what was generated (counts, first and last day, bytes)

The D days are the first D school days of the configuration's calendar (weekdays inside a term,
not a closure), read from the example configuration with tomllib, so every row becomes a mark.
Standard library only; deterministic for a given seed.
"""

import argparse
import datetime as dt
import json
import random
import re
import shutil
import sys
import tomllib
from pathlib import Path

ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"  # the UPN alphabet: 23 check letters, then digits

SURNAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Clarke", "Hussain", "Nowak", "O'Brien", "Kelly", "Begum", "Ahmed", "Lewis",
]
FORENAMES = [
    "Oliver", "Amelia", "Jack", "Isla", "Harry", "Ava", "Jacob", "Mia", "Charlie", "Emily",
    "Mohammed", "Aaliyah", "Kacper", "Zoe", "Jayden", "Siobhan", "Leo", "Grace", "Noah", "Ruby",
]
NOTES = ["", "", "", "Dentist", "Unwell", "Family holiday", "No contact yet"]


def check_letter(rest: str) -> str:
    """The check letter for characters 2 to 13 (docs: attendance-codes.md, Identifiers)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(rest, range(2, 14)))
    return ALPHABET[total % 23]


def upn(i: int) -> str:
    # LA 371, establishment 4321, year of issue 10.., serial 000-999: 13 characters in all.
    rest = f"3714321{10 + i // 1000:02d}{i % 1000:03d}"
    return check_letter(rest) + rest


def parse_day(text: str) -> dt.date:
    return dt.date.fromisoformat(text.strip())


def school_days(config: dict, count: int) -> list[dt.date]:
    cal = config["calendar"]
    closed: set[dt.date] = set()
    for c in cal.get("closures", []):
        if ".." in c:
            a, b = (parse_day(x) for x in c.split(".."))
            while a <= b:
                closed.add(a)
                a += dt.timedelta(days=1)
        else:
            closed.add(parse_day(c))
    days: list[dt.date] = []
    for term in sorted(cal["terms"], key=lambda t: t["start"]):
        d, end = parse_day(str(term["start"])), parse_day(str(term["end"]))
        while d <= end:
            if d.weekday() < 5 and d not in closed:
                days.append(d)
                if len(days) == count:
                    return days
            d += dt.timedelta(days=1)
    sys.exit(f"the calendar has only {len(days)} school days; asked for {count}")


LIMITS = {
    "max_file_bytes": 64 * 1024**3,
    "max_rows": 2_000_000_000,
    "max_cells": 2_000_000_000,
}


def raised_limits(text: str) -> str:
    """The format with [limits] raised for the big file (keys as in docs/formats.md)."""
    parsed = tomllib.loads(text)
    if "limits" not in parsed:
        body = "".join(f"{k} = {v}\n" for k, v in LIMITS.items())
        return text.rstrip("\n") + "\n\n# Raised by scripts/bench-import for one big file.\n[limits]\n" + body
    out, section, seen = [], None, set()
    for line in text.splitlines():
        m = re.match(r"\s*\[([^\]]+)\]", line)
        if m:
            if section == "limits":
                out.extend(f"{k} = {v}" for k, v in LIMITS.items() if k not in seen)
            section = m.group(1).strip()
        key = re.match(r"\s*([A-Za-z_]+)\s*=", line)
        if section == "limits" and key and key.group(1) in LIMITS:
            seen.add(key.group(1))
            line = f"{key.group(1)} = {LIMITS[key.group(1)]}"
        out.append(line)
    if section == "limits":
        out.extend(f"{k} = {v}" for k, v in LIMITS.items() if k not in seen)
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pupils", type=int, default=5000)
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20260302)
    a = ap.parse_args()
    if not (1 <= a.pupils <= 99_999):
        sys.exit("--pupils must be 1..99999 (refs are BF-00001...)")
    if a.days < 1:
        sys.exit("--days must be at least 1")
    rng = random.Random(a.seed)
    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)

    # Configuration: the example, with its SQLite url moved into the folder.
    example = (a.repo / "config" / "apsync.example.toml").read_text(encoding="utf-8")
    old = 'url = "sqlite:///var/lib/apsync/apsync.db"'
    if example.count(old) != 1:
        sys.exit(f"config/apsync.example.toml no longer has exactly one line {old}")
    db = (out / "apsync.db").resolve()
    (out / "apsync.toml").write_text(example.replace(old, f'url = "sqlite://{db}"'), encoding="utf-8")
    formats = out / "formats"
    if formats.exists():
        shutil.rmtree(formats)
    shutil.copytree(a.repo / "config" / "formats", formats)
    bf = formats / "bright-futures.toml"
    bf.write_text(raised_limits(bf.read_text(encoding="utf-8")), encoding="utf-8")

    days = school_days(tomllib.loads(example), a.days)
    start = days[0] - dt.timedelta(days=7)
    end = days[-1] + dt.timedelta(days=7)

    pupils = []
    for i in range(a.pupils):
        year = rng.choice([7, 8, 9, 10, 11])
        dob = dt.date(2025 - year - 5, 9, 1) + dt.timedelta(days=rng.randrange(365))
        pupils.append((upn(i), f"{100000 + i:06d}", rng.choice(SURNAMES), rng.choice(FORENAMES), dob, year))
    if len({p[0] for p in pupils}) != len(pupils):
        sys.exit("duplicate UPNs generated")

    with open(out / "pupils.csv", "w", encoding="utf-8", newline="") as f:
        f.write("UPN,Adno,Legal Surname,Legal Forename,DOB,Year\n")
        for u, adno, sn, fn, dob, year in pupils:
            f.write(f"{u},{adno},{sn},{fn},{dob.isoformat()},{year}\n")
    with open(out / "placements.csv", "w", encoding="utf-8", newline="") as f:
        f.write("UPN,Provider,Provider Ref,Start,End,Days\n")
        for i, p in enumerate(pupils):
            f.write(f"{p[0]},bright-futures,BF-{i + 1:05d},{start.isoformat()},{end.isoformat()},Mon Tue Wed Thu Fri\n")

    # The return: date-major (as a provider's daily files concatenated), every pupil, AM then PM.
    # The UPN is often blank (about 1 row in 5 carries it). Marks: mostly / and \, some L, I, N.
    counts: dict[str, int] = {}
    rows = 0
    corrected = 0
    fix = random.Random(a.seed + 1)  # its own stream: the first file is as before
    lines: list[str] = []
    fixed: list[str] = []
    header = "Learner Ref,UPN,Surname,Forename,Date,Session,Mark,Notes\n"
    with open(out / "bright-futures.csv", "w", encoding="utf-8", newline="") as f, open(
        out / "bright-futures-corrections.csv", "w", encoding="utf-8", newline=""
    ) as fc:
        f.write(header)
        fc.write(header)
        for d in days:
            ds = d.strftime("%d/%m/%Y")
            for i, (u, _adno, sn, fn, _dob, _y) in enumerate(pupils):
                ref = f"BF-{i + 1:05d}"
                shown = u if rng.random() < 0.2 else ""
                for session in ("AM", "PM"):
                    r = rng.random()
                    if r < 0.88:
                        mark, note = ("/" if session == "AM" else "\\"), ""
                    elif r < 0.92:
                        mark, note = "L", ""
                    elif r < 0.96:
                        mark, note = "I", rng.choice(NOTES)
                    else:
                        mark, note = "N", rng.choice(NOTES)
                    counts[mark] = counts.get(mark, 0) + 1
                    sn_csv = f'"{sn}"' if "," in sn else sn
                    lines.append(f"{ref},{shown},{sn_csv},{fn},{ds},{session},{mark},{note}\n")
                    if fix.random() < 0.1:
                        corrected += 1
                        present = "/" if session == "AM" else "\\"
                        mark = "N" if mark in ("/", "\\", "L") else present
                    fixed.append(f"{ref},{shown},{sn_csv},{fn},{ds},{session},{mark},{note}\n")
                    rows += 1
            if len(lines) >= 100_000:
                f.write("".join(lines))
                fc.write("".join(fixed))
                lines.clear()
                fixed.clear()
        f.write("".join(lines))
        fc.write("".join(fixed))

    meta = {
        "pupils": a.pupils,
        "days": a.days,
        "rows": rows,
        "expected_marks": rows,
        "corrected_marks": corrected,
        "first_day": days[0].isoformat(),
        "last_day": days[-1].isoformat(),
        "bytes": (out / "bright-futures.csv").stat().st_size,
        "marks_by_code": counts,
        "seed": a.seed,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(meta))


if __name__ == "__main__":
    assert check_letter("801200005001") == "B", "UPN check letter algorithm"
    main()
