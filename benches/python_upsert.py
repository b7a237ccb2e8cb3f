#!/usr/bin/env python3
"""The second yardstick of scripts/bench-import: the straightforward import a person would write.

    python_upsert.py DB PLACEMENTS_CSV RETURN_CSV

csv module, the same mapping as apsync's bright-futures format (Learner Ref to UPN through the
placements, dd/mm/yyyy dates, L as present), and sqlite3 executemany upserts into a table with
the register's primary key and date index, WAL with synchronous NORMAL (apsync's durability).
Standard library only.
"""
import csv
import sqlite3
import sys

db_path, placements_path, return_path = sys.argv[1:4]
with open(placements_path, newline="", encoding="utf-8") as f:
    upn_of = {r["Provider Ref"]: r["UPN"] for r in csv.DictReader(f)}
db = sqlite3.connect(db_path)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = NORMAL")
db.execute("""CREATE TABLE IF NOT EXISTS marks (upn TEXT NOT NULL, date TEXT NOT NULL, session TEXT NOT NULL,
    code TEXT NOT NULL, raw TEXT, PRIMARY KEY (upn, date, session)) WITHOUT ROWID""")
db.execute("CREATE INDEX IF NOT EXISTS marks_date ON marks (date)")
UPSERT = """INSERT INTO marks (upn, date, session, code, raw) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (upn, date, session) DO UPDATE SET code = excluded.code, raw = excluded.raw
    WHERE marks.code <> excluded.code"""


def rows(reader):
    for r in reader:
        upn = r["UPN"] or upn_of[r["Learner Ref"]]
        d, m, y = r["Date"].split("/")
        session, mark = r["Session"], r["Mark"]
        code = ("/" if session == "AM" else "\\") if mark == "L" else mark
        yield upn, f"{y}-{m}-{d}", session, code, mark


with open(return_path, newline="", encoding="utf-8") as f, db:
    db.executemany(UPSERT, rows(csv.DictReader(f)))
db.close()
