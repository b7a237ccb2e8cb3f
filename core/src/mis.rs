//! The MIS link's pure parts: the MIS's students checked into roster records (each bad student
//! reported on its own, the rest kept), and the write-back plan: which register marks to write
//! to the MIS, which are held already, and where the MIS holds a mark a person entered.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::domain::{Code, Session, Upn};
use crate::roster::PupilRecord;
use crate::roster::normalise_admission_number;

/// One student as the MIS API lists them, before any check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MisStudent {
    /// The MIS API's id for the student (Wonde's `id`), kept for write-back.
    pub id: String,
    /// The UPN, as the MIS holds it.
    pub upn: Option<String>,
    /// The admission number.
    pub admission_number: Option<String>,
    /// Legal surname.
    pub legal_surname: Option<String>,
    /// Legal forename.
    pub legal_forename: Option<String>,
    /// The forename the pupil goes by, when it differs.
    pub preferred_forename: Option<String>,
    /// Date of birth, `YYYY-MM-DD` (a time after it is ignored).
    pub date_of_birth: Option<String>,
    /// The year group as the MIS writes it (`11`, `Y11`, `R`, ...).
    pub year_group: Option<String>,
}

/// A student from the MIS that is a valid pupil, with its MIS id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MisPupil {
    /// The pupil, as a roster import would load them.
    pub record: PupilRecord,
    /// The MIS API's id for them.
    pub mis_id: String,
}

/// Why one student from the MIS cannot be loaded; the others still are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MIS student {mis_id}: {problem}")]
pub struct StudentProblem {
    /// The MIS API's id for the student.
    pub mis_id: String,
    /// What is wrong, in the words the roster import uses.
    pub problem: String,
}

/// Checks each student as `roster import` checks a row: the UPN and its check letter, the
/// required names, the date of birth, the year group, and no UPN or admission number twice
/// (the second is refused). Each bad student is a problem of its own.
pub fn pupils_from_mis(students: &[MisStudent]) -> (Vec<MisPupil>, Vec<StudentProblem>) {
    let mut pupils = Vec::new();
    let mut problems = Vec::new();
    let mut upns: HashMap<String, String> = HashMap::new();
    let mut adnos: HashMap<String, String> = HashMap::new();
    for (i, s) in students.iter().enumerate() {
        let mut wrong = Vec::new();
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let upn = match text(&s.upn) {
            Some(t) => match Upn::parse(&t) {
                Ok(u) => Some(u),
                Err(e) => {
                    wrong.push(e.to_string());
                    None
                }
            },
            None => {
                wrong.push("has no UPN in the MIS".to_string());
                None
            }
        };
        let mut need = |v: &Option<String>, what: &str| {
            let got = text(v);
            if got.is_none() {
                wrong.push(format!("has no {what} in the MIS"));
            }
            got
        };
        let admission_number = need(&s.admission_number, "admission number");
        let legal_surname = need(&s.legal_surname, "legal surname");
        let legal_forename = need(&s.legal_forename, "legal forename");
        let dob_text = need(&s.date_of_birth, "date of birth");
        let date_of_birth = dob_text.as_deref().and_then(|t| {
            let day = t.get(..10).unwrap_or(t);
            match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    wrong.push(format!("date of birth `{t}` is not a date (YYYY-MM-DD)"));
                    None
                }
            }
        });
        let year_text = text(&s.year_group).unwrap_or_default();
        let year_group = match crate::roster::pupils::parse_year_group(&year_text) {
            Ok(y) => Some(y),
            Err(()) => {
                wrong.push(format!("year group `{year_text}` is not a national curriculum year"));
                None
            }
        };
        if let Some(u) = &upn
            && let Some(first) = upns.get(u.as_str())
        {
            wrong.push(format!(
                "UPN {u} is also student {first}'s: each pupil must appear once"
            ));
        }
        if let Some(a) = &admission_number
            && let Some(first) = adnos.get(&normalise_admission_number(a))
        {
            wrong.push(format!(
                "admission number `{a}` is also student {first}'s: admission numbers must be unique"
            ));
        }
        match (
            upn,
            admission_number,
            legal_surname,
            legal_forename,
            date_of_birth,
            year_group,
        ) {
            (Some(upn), Some(adno), Some(surname), Some(forename), Some(dob), Some(year)) if wrong.is_empty() => {
                upns.insert(upn.as_str().to_string(), s.id.clone());
                adnos.insert(normalise_admission_number(&adno), s.id.clone());
                let preferred = text(&s.preferred_forename).filter(|p| *p != forename);
                pupils.push(MisPupil {
                    record: PupilRecord {
                        line: i + 1,
                        upn,
                        admission_number: adno,
                        legal_surname: surname,
                        legal_forename: forename,
                        preferred_forename: preferred,
                        date_of_birth: dob,
                        year_group: year,
                    },
                    mis_id: s.id.clone(),
                });
            }
            _ => problems.push(StudentProblem {
                mis_id: s.id.clone(),
                problem: wrong.join("; "),
            }),
        }
    }
    (pupils, problems)
}

/// One session of one pupil: the key of everything the plan compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    /// The MIS API's id for the student.
    pub student: String,
    /// The day.
    pub date: NaiveDate,
    /// AM or PM.
    pub session: Session,
}

/// A register mark apsync would write: a placed session's current mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterMark {
    /// Whose and which session.
    pub key: SessionKey,
    /// The pupil's UPN, to name them in reports.
    pub upn: String,
    /// The register's code.
    pub code: Code,
    /// Which version of the mark this is (a correction is a new version).
    pub version: String,
}

/// What the plan is made from.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// The register's marks for placed sessions, in the dates planned.
    pub register: Vec<RegisterMark>,
    /// The MIS's own marks for those dates, by session: its code (`None` when the MIS has a
    /// mark apsync cannot read as a statutory code).
    pub mis: HashMap<SessionKey, Option<Code>>,
    /// What apsync last wrote to each session, and the mark version it was.
    pub written: HashMap<SessionKey, (Code, String)>,
    /// The school's code list: statutory code to the MIS's code id.
    pub code_ids: HashMap<Code, String>,
    /// MIS codes apsync may replace though it did not write them.
    pub replaceable: BTreeSet<Code>,
    /// Nothing before this day is written.
    pub from: Option<NaiveDate>,
    /// What a person decided about a conflict, for the register mark as it is now.
    pub decisions: HashMap<SessionKey, ConflictDecision>,
    /// Sessions with a conflict already waiting for a person (not raised again).
    pub waiting: BTreeSet<SessionKey>,
}

/// A person's decision on a conflict with the MIS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictDecision {
    /// Keep the MIS's mark: nothing is written there.
    KeepMis,
    /// Write the register's mark over the MIS's.
    WriteRegister,
}

/// One mark to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Whose and which session.
    pub key: SessionKey,
    /// The pupil's UPN.
    pub upn: String,
    /// The register's code.
    pub code: Code,
    /// The MIS's id for that code.
    pub code_id: String,
    /// The idempotency key: pupil, date, session and mark version.
    pub idempotency_key: String,
}

/// A session where the MIS holds a mark a person entered: apsync writes nothing there and asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Whose and which session.
    pub key: SessionKey,
    /// The pupil's UPN.
    pub upn: String,
    /// What the MIS holds (`None`: a mark that is not a statutory code).
    pub mis: Option<Code>,
    /// What the register says.
    pub register: Code,
}

impl Conflict {
    /// The review item's reason, in the attendance officer's words.
    pub fn reason(&self) -> String {
        let mis = self
            .mis
            .map_or_else(|| "a mark apsync does not know".to_string(), |c| c.to_string());
        format!(
            "the MIS has {mis}, the provider's return says {}: keep the MIS's mark, or write the provider's",
            self.register
        )
    }
}

/// The plan: per date, what to write; and what was held, what conflicts, which codes the MIS's
/// code list lacks (each once, with how many marks it held back).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The writes, batched per date.
    pub writes: BTreeMap<NaiveDate, Vec<Write>>,
    /// Sessions where the MIS already holds what apsync wrote, or the same code.
    pub unchanged: usize,
    /// Sessions where the MIS holds a person's mark, new (not yet waiting for a person).
    pub conflicts: Vec<Conflict>,
    /// Conflicts already waiting for a person's decision.
    pub waiting: usize,
    /// Sessions where a person decided to keep the MIS's mark.
    pub kept: usize,
    /// Codes with no id in the MIS's code list, and how many marks each held back.
    pub unmapped: BTreeMap<Code, usize>,
}

/// Plans the write-back. A session is written when the MIS holds no mark there, a code in
/// `replaceable`, or exactly what apsync wrote last; not when the MIS already holds the
/// register's code; anywhere else the MIS holds a person's mark, which is a conflict.
pub fn plan(input: &PlanInput) -> Plan {
    let mut out = Plan::default();
    let mut marks: Vec<&RegisterMark> = input.register.iter().collect();
    marks.sort_by(|a, b| a.key.cmp(&b.key));
    for m in marks {
        if input.from.is_some_and(|from| m.key.date < from) {
            continue;
        }
        let mis = input.mis.get(&m.key);
        let written = input.written.get(&m.key);
        if let (Some(Some(held)), Some((wrote, version))) = (mis, written)
            && *held == m.code
            && *wrote == m.code
            && *version == m.version
        {
            out.unchanged += 1;
            continue;
        }
        if mis == Some(&Some(m.code)) {
            out.unchanged += 1;
            continue;
        }
        let may_write = match mis {
            None => true,
            Some(Some(held)) => input.replaceable.contains(held) || written.is_some_and(|(w, _)| w == held),
            Some(None) => false,
        };
        match input.decisions.get(&m.key) {
            Some(ConflictDecision::KeepMis) if !may_write => {
                out.kept += 1;
                continue;
            }
            Some(ConflictDecision::WriteRegister) => {}
            _ if !may_write && input.waiting.contains(&m.key) => {
                out.waiting += 1;
                continue;
            }
            _ => {}
        }
        let may_write = may_write || input.decisions.get(&m.key) == Some(&ConflictDecision::WriteRegister);
        if !may_write {
            out.conflicts.push(Conflict {
                key: m.key.clone(),
                upn: m.upn.clone(),
                mis: mis.copied().flatten(),
                register: m.code,
            });
            continue;
        }
        let Some(code_id) = input.code_ids.get(&m.code) else {
            *out.unmapped.entry(m.code).or_default() += 1;
            continue;
        };
        out.writes.entry(m.key.date).or_default().push(Write {
            key: m.key.clone(),
            upn: m.upn.clone(),
            code: m.code,
            code_id: code_id.clone(),
            idempotency_key: format!("mis:{}:{}:{}:{}", m.key.student, m.key.date, m.key.session, m.version),
        });
    }
    out
}

/// Whether writing `count` marks for one date needs `--confirm`: more than twice the sessions
/// placed pupils are expected that day is taken for a mistaken mapping.
pub fn needs_confirmation(count: usize, placed_sessions: usize) -> bool {
    count > placed_sessions.saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student(id: &str, upn: &str, adno: &str) -> MisStudent {
        MisStudent {
            id: id.into(),
            upn: Some(upn.into()),
            admission_number: Some(adno.into()),
            legal_surname: Some("Hughes".into()),
            legal_forename: Some("Ada".into()),
            preferred_forename: None,
            date_of_birth: Some("2011-04-02 00:00:00.000000".into()),
            year_group: Some("Y10".into()),
        }
    }

    #[test]
    fn a_bad_upn_is_one_students_problem_and_the_rest_load() {
        let (good, bad) = ("R371432121100", "A371432121114");
        let (pupils, problems) = pupils_from_mis(&[
            student("A100", good, "001"),
            student("A200", bad, "002"),
            student("A300", good, "003"),
        ]);
        assert_eq!(pupils.len(), 1);
        assert_eq!(pupils[0].mis_id, "A100");
        assert_eq!(pupils[0].record.year_group, Some(10));
        assert_eq!(
            pupils[0].record.date_of_birth,
            NaiveDate::from_ymd_opt(2011, 4, 2).unwrap()
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].mis_id, "A200");
        assert!(problems[1].problem.contains("also student A100"), "{problems:?}");
    }

    fn key(student: &str, day: u32, session: Session) -> SessionKey {
        SessionKey {
            student: student.into(),
            date: NaiveDate::from_ymd_opt(2026, 6, day).unwrap(),
            session,
        }
    }

    fn mark(student: &str, day: u32, code: Code, version: &str) -> RegisterMark {
        RegisterMark {
            key: key(student, day, Session::Am),
            upn: format!("UPN-{student}"),
            code,
            version: version.into(),
        }
    }

    fn input() -> PlanInput {
        PlanInput {
            code_ids: [(Code::B, "c-B"), (Code::I, "c-I"), (Code::N, "c-N")]
                .into_iter()
                .map(|(c, id)| (c, id.to_string()))
                .collect(),
            replaceable: [Code::B].into_iter().collect(),
            ..PlanInput::default()
        }
    }

    #[test]
    fn writes_where_empty_replaceable_or_its_own_and_asks_where_a_person_marked() {
        let mut i = input();
        i.register = vec![
            mark("s1", 8, Code::N, "v1"),
            mark("s2", 8, Code::N, "v1"),
            mark("s3", 8, Code::N, "v2"),
            mark("s4", 8, Code::N, "v1"),
            mark("s5", 9, Code::I, "v1"),
        ];
        i.mis.insert(key("s2", 8, Session::Am), Some(Code::B));
        i.mis.insert(key("s3", 8, Session::Am), Some(Code::B));
        i.written.insert(key("s3", 8, Session::Am), (Code::B, "v1".into()));
        i.mis.insert(key("s4", 8, Session::Am), Some(Code::I));
        let p = plan(&i);
        let day8: Vec<&str> = p.writes[&NaiveDate::from_ymd_opt(2026, 6, 8).unwrap()]
            .iter()
            .map(|w| w.key.student.as_str())
            .collect();
        assert_eq!(day8, ["s1", "s2", "s3"]);
        assert_eq!(p.writes.len(), 2);
        assert_eq!(p.conflicts.len(), 1);
        assert_eq!(p.conflicts[0].key.student, "s4");
        assert_eq!(
            p.conflicts[0].reason(),
            "the MIS has I, the provider's return says N: keep the MIS's mark, or write the provider's"
        );
        assert_eq!(
            p.writes[&NaiveDate::from_ymd_opt(2026, 6, 8).unwrap()][2].idempotency_key,
            "mis:s3:2026-06-08:AM:v2"
        );
    }

    #[test]
    fn a_mark_written_is_not_written_again_but_a_correction_is() {
        let mut i = input();
        i.register = vec![mark("s1", 8, Code::N, "v1")];
        i.mis.insert(key("s1", 8, Session::Am), Some(Code::N));
        i.written.insert(key("s1", 8, Session::Am), (Code::N, "v1".into()));
        assert!(plan(&i).writes.is_empty());
        assert_eq!(plan(&i).unchanged, 1);
        i.register = vec![mark("s1", 8, Code::I, "v2")];
        let p = plan(&i);
        assert_eq!(p.writes.values().flatten().count(), 1);
        assert_eq!(p.writes.values().flatten().next().unwrap().code_id, "c-I");
    }

    #[test]
    fn unmapped_codes_are_counted_once_each_and_early_dates_never_written() {
        let mut i = input();
        i.register = vec![
            mark("s1", 8, Code::U, "v1"),
            mark("s2", 8, Code::U, "v1"),
            mark("s3", 1, Code::N, "v1"),
        ];
        i.from = NaiveDate::from_ymd_opt(2026, 6, 2);
        let p = plan(&i);
        assert!(p.writes.is_empty());
        assert_eq!(p.unmapped.into_iter().collect::<Vec<_>>(), [(Code::U, 2)]);
    }

    #[test]
    fn a_persons_decision_on_a_conflict_is_followed_and_a_waiting_one_not_raised_again() {
        let mut i = input();
        i.register = vec![
            mark("s1", 8, Code::N, "v1"),
            mark("s2", 8, Code::N, "v1"),
            mark("s3", 8, Code::N, "v1"),
        ];
        for s in ["s1", "s2", "s3"] {
            i.mis.insert(key(s, 8, Session::Am), Some(Code::I));
        }
        i.decisions.insert(key("s1", 8, Session::Am), ConflictDecision::KeepMis);
        i.decisions
            .insert(key("s2", 8, Session::Am), ConflictDecision::WriteRegister);
        i.waiting.insert(key("s3", 8, Session::Am));
        let p = plan(&i);
        let written: Vec<&str> = p.writes.values().flatten().map(|w| w.key.student.as_str()).collect();
        assert_eq!(written, ["s2"]);
        assert_eq!((p.kept, p.waiting, p.conflicts.len()), (1, 1, 0));
    }

    #[test]
    fn the_guard_allows_twice_the_placed_sessions() {
        assert!(!needs_confirmation(20, 10));
        assert!(needs_confirmation(21, 10));
        assert!(needs_confirmation(1, 0));
    }
}
