//! The sample returns decode with the example formats, and (through a minimal matcher and the
//! formats' vocabularies) give exactly the expected register and review list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{decode_ok, find, format, ymd};
use crate::domain::Session::{self, Am, Pm};
use crate::pipeline::format::{NameOrder, Resolution, normalise_key};
use crate::pipeline::{CheckedFormat, DateOfBirth, Decoded, IdentityFields};

/// The repository root: the core crate's parent folder.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

const PROVIDERS: [(&str, &str); 5] = [
    (
        "bright-futures",
        include_str!("../../../../config/formats/bright-futures.toml"),
    ),
    ("skills-hub", include_str!("../../../../config/formats/skills-hub.toml")),
    (
        "riverside-farm",
        include_str!("../../../../config/formats/riverside-farm.toml"),
    ),
    (
        "boxing-academy",
        include_str!("../../../../config/formats/boxing-academy.toml"),
    ),
    ("northstar", include_str!("../../../../config/formats/northstar.toml")),
];

/// Every provider's files, decoded in name order: `(provider, file name, decoded)`.
fn decode_samples() -> Vec<(&'static str, String, Decoded, CheckedFormat)> {
    let mut out = Vec::new();
    for (provider, text) in PROVIDERS {
        let f = format(text);
        let dir = root().join("samples/returns").join(provider);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let decoded = decode_ok(&std::fs::read(&path).unwrap(), &name, &f);
            assert!(decoded.problems.is_empty(), "{name}: {:#?}", decoded.problems);
            out.push((provider, name, decoded, f.clone()));
        }
    }
    out
}

fn decoded<'a>(all: &'a [(&str, String, Decoded, CheckedFormat)], file: &str) -> &'a Decoded {
    &all.iter().find(|(_, name, _, _)| name == file).unwrap().2
}

#[test]
fn sample_counts_and_exact_observations() {
    let all = decode_samples();
    let count = |provider: &str| -> usize {
        all.iter()
            .filter(|(p, ..)| *p == provider)
            .map(|(_, _, d, _)| d.observations.len())
            .sum()
    };
    assert_eq!(count("bright-futures"), 53);
    assert_eq!(count("skills-hub"), 52);
    assert_eq!(count("riverside-farm"), 52);
    assert_eq!(count("boxing-academy"), 48);
    assert_eq!(count("northstar"), 40);

    let week = decoded(&all, "Skills Hub Register w-c 02-03-2026.csv");
    let obrien = find(week, "O’Brien, Zoë", ymd(2026, 3, 3), Am);
    assert_eq!(obrien.mark, "S");
    assert_eq!(obrien.locator, "line 5, column `Tue AM`");
    assert_eq!(obrien.identity.date_of_birth, Some(DateOfBirth::Date(ymd(2010, 7, 14))));
    assert_eq!(obrien.raw_row[..3], ["O’Brien, Zoë", "14/07/2010", "P"]);
    assert_eq!(find(week, "Kelly, Siobhán", ymd(2026, 3, 2), Pm).mark, "RO");

    let connor = find(
        decoded(&all, "riverside_2026-03-05.xlsx"),
        "Connor Walsh",
        ymd(2026, 3, 5),
        Am,
    );
    assert_eq!(
        (connor.mark.as_str(), connor.reason.as_deref()),
        ("N", Some("Arrived after 10am"))
    );
    assert_eq!(connor.locator, "sheet Attendance row 6");

    let harvey = find(decoded(&all, "attendance-week-10.csv"), "002114", ymd(2026, 3, 2), Am);
    assert_eq!(
        (harvey.mark.as_str(), harvey.comment.as_deref()),
        ("Late", Some("Left early; collected by \"Nan\""))
    );

    let chloe = find(decoded(&all, "page-2.json"), "NS-0051", ymd(2026, 3, 13), Pm);
    assert_eq!((chloe.mark.as_str(), chloe.reason.as_deref()), ("absent", Some("sick")));
    assert_eq!(chloe.locator, "record 10 (data[9])");

    let j = find(
        decoded(&all, "BF_attendance_2026-03-04.csv"),
        "BF-104",
        ymd(2026, 3, 4),
        Am,
    );
    assert_eq!(
        (j.mark.as_str(), j.comment.as_deref(), j.locator.as_str()),
        ("J", Some("interview at college"), "line 7")
    );
}

struct Pupil {
    upn: String,
    adno: String,
    surname: String,
    forename: String,
    dob: String,
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// A minimal matcher (the real one is the next stage's): provider reference, UPN, admission
/// number without leading zeros, then name with date of birth.
fn matches(id: &IdentityFields, provider: &str, pupils: &[Pupil], placements: &[Vec<String>]) -> Option<String> {
    if let Some(r) = &id.provider_ref
        && let Some(p) = placements.iter().find(|p| p[1] == provider && p[2] == *r)
    {
        return Some(p[0].clone());
    }
    if let Some(upn) = &id.upn
        && pupils.iter().any(|p| p.upn == *upn)
    {
        return Some(upn.clone());
    }
    if let Some(adno) = &id.admission_number {
        let want = adno.trim_start_matches('0');
        if let Some(p) = pupils.iter().find(|p| p.adno.trim_start_matches('0') == want) {
            return Some(p.upn.clone());
        }
    }
    let (surname, forename) = match (&id.full_name, &id.surname, &id.forename) {
        (Some(n), ..) if n.order == NameOrder::SurnameFirst => {
            let (s, f) = n.text.split_once(',')?;
            (s.to_string(), f.to_string())
        }
        (Some(n), ..) => {
            let (f, s) = n.text.rsplit_once(' ')?;
            (s.to_string(), f.to_string())
        }
        (None, Some(s), Some(f)) => (s.clone(), f.clone()),
        _ => return None,
    };
    let Some(DateOfBirth::Date(dob)) = &id.date_of_birth else {
        return None;
    };
    let dob = dob.format("%Y-%m-%d").to_string();
    let found: Vec<&Pupil> = pupils
        .iter()
        .filter(|p| {
            normalise_key(&p.surname) == normalise_key(&surname)
                && normalise_key(&p.forename) == normalise_key(&forename)
                && p.dob == dob
        })
        .collect();
    (found.len() == 1).then(|| found[0].upn.clone())
}

#[test]
fn samples_give_the_expected_register_and_review_list() {
    let root = root();
    let pupils: Vec<Pupil> = csv_rows(&root.join("samples/roster/pupils.csv"))
        .into_iter()
        .map(|r| Pupil {
            upn: r[0].clone(),
            adno: r[1].clone(),
            surname: r[2].clone(),
            forename: r[3].clone(),
            dob: r[4].clone(),
        })
        .collect();
    let placements = csv_rows(&root.join("samples/roster/placements.csv"));

    let mut register: BTreeMap<(String, chrono::NaiveDate, Session), (String, &str)> = BTreeMap::new();
    let mut review: BTreeSet<(String, String, &str)> = BTreeSet::new();
    for (provider, file, decoded, f) in decode_samples() {
        for o in &decoded.observations {
            let who = o.identity.identifier().unwrap_or_default();
            let Some(upn) = matches(&o.identity, provider, &pupils, &placements) else {
                review.insert((file.clone(), who, "unknown-pupil"));
                continue;
            };
            let code = match f.marks.resolve(&o.mark, o.reason.as_deref()) {
                Resolution::Present => "B".to_string(),
                Resolution::Code(code) => code,
                Resolution::NoMark => continue,
                Resolution::Unmapped(_) => {
                    review.insert((file.clone(), who, "unknown-mark"));
                    continue;
                }
            };
            register.insert((upn, o.date, o.session), (code, provider));
        }
    }

    let got: Vec<String> = register
        .iter()
        .map(|((upn, date, session), (code, provider))| format!("{upn},{date},{session},{code},{provider}"))
        .collect();
    let expected = std::fs::read_to_string(root.join("samples/expected/marks.csv")).unwrap();
    let expected: Vec<&str> = expected.lines().skip(1).collect();
    let missing: Vec<&&str> = expected.iter().filter(|l| !got.iter().any(|g| g == **l)).collect();
    let extra: Vec<&String> = got.iter().filter(|g| !expected.contains(&g.as_str())).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );

    let got: Vec<String> = review
        .iter()
        .map(|(f, who, kind)| format!("{f},{who},{kind}"))
        .collect();
    let expected = std::fs::read_to_string(root.join("samples/expected/review.csv")).unwrap();
    assert_eq!(got, expected.lines().skip(1).collect::<Vec<_>>());
}
