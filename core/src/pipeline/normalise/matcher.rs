//! Finding the pupil a row means, from whatever identifiers the provider sends.
//!
//! Every identifier the row carries must point at the same single pupil. One that points
//! nowhere, identifiers that disagree, or several pupils fitting is a question for a person:
//! a wrong mark on the wrong child is worse than no mark.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use crate::domain::Upn;
use crate::pipeline::format::NameOrder;
use crate::pipeline::observation::{DateOfBirth, IdentityFields};
use crate::register::ReviewKind;
use crate::roster::{PlacementRecord, PupilRecord, normalise_admission_number};

/// The roster, indexed for matching one provider's rows.
#[derive(Debug, Default)]
pub struct RosterIndex {
    pupils: Vec<PupilRecord>,
    by_upn: HashMap<String, usize>,
    by_admission: HashMap<String, Vec<usize>>,
    by_reference: HashMap<(String, String), Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

/// Why a row's pupil could not be settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMatch {
    /// The review kind.
    pub kind: ReviewKind,
    /// For the person deciding.
    pub reason: String,
    /// The identifier the reason is about, when it is not the one the row is listed by: a
    /// mistyped UPN beside a valid provider reference is shown as the UPN.
    pub identifier: Option<String>,
}

impl RosterIndex {
    /// Indexes pupils (on roll or not) and the placements' provider references.
    pub fn new(pupils: Vec<PupilRecord>, placements: &[PlacementRecord]) -> Self {
        let mut index = RosterIndex::default();
        for (i, p) in pupils.iter().enumerate() {
            index.by_upn.insert(p.upn.as_str().to_string(), i);
            index
                .by_admission
                .entry(normalise_admission_number(&p.admission_number))
                .or_default()
                .push(i);
            let forenames = std::iter::once(&p.legal_forename).chain(p.preferred_forename.as_ref());
            let mut keys = BTreeSet::new();
            for f in forenames {
                keys.insert(name_key(f, &p.legal_surname, p.date_of_birth));
            }
            for k in keys {
                index.by_name.entry(k).or_default().push(i);
            }
        }
        for pl in placements {
            if let (Some(reference), Some(&i)) = (&pl.provider_ref, index.by_upn.get(pl.upn.as_str())) {
                let key = (pl.provider_id.clone(), fold(reference));
                let entry = index.by_reference.entry(key).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        index.pupils = pupils;
        index
    }

    /// The pupil a row of `provider`'s return names, or why it cannot be told.
    pub fn find(&self, provider: &str, id: &IdentityFields) -> Result<&PupilRecord, NoMatch> {
        self.identify(provider, id).map(|m| m.pupil)
    }

    /// [`RosterIndex::find`], saying which identifiers matched the pupil.
    ///
    /// A name without a date of birth never identifies a pupil, but it must not contradict the
    /// pupil the other identifiers name: a surname that differs (accents, case, hyphens and the
    /// order of the names aside) sends the row to a person.
    pub fn identify(&self, provider: &str, id: &IdentityFields) -> Result<Matched<'_>, NoMatch> {
        let mut evidence: Vec<(String, Vec<usize>)> = Vec::new();
        if let Some(text) = &id.upn {
            let upn = Upn::parse(text).map_err(|e| NoMatch {
                kind: ReviewKind::InvalidIdentifier,
                reason: format!("the UPN is not valid: {e}"),
                identifier: Some(text.clone()),
            })?;
            evidence.push((
                format!("UPN {upn}"),
                self.by_upn.get(upn.as_str()).into_iter().copied().collect(),
            ));
        }
        if let Some(adno) = &id.admission_number {
            let found = self
                .by_admission
                .get(&normalise_admission_number(adno))
                .cloned()
                .unwrap_or_default();
            evidence.push((format!("admission number {adno}"), found));
        }
        if let Some(reference) = &id.provider_ref {
            let found = self
                .by_reference
                .get(&(provider.to_string(), fold(reference)))
                .cloned()
                .unwrap_or_default();
            evidence.push((format!("provider reference {reference}"), found));
        }
        if let Some((forename, surname)) = names(id) {
            match &id.date_of_birth {
                Some(DateOfBirth::Date(dob)) => {
                    let found = self
                        .by_name
                        .get(&name_key(&forename, &surname, *dob))
                        .cloned()
                        .unwrap_or_default();
                    evidence.push((format!("name {forename} {surname} born {dob}"), found));
                }
                Some(DateOfBirth::Text(text)) => {
                    return Err(NoMatch {
                        kind: ReviewKind::InvalidIdentifier,
                        reason: format!("the date of birth `{text}` cannot be read with this provider's date formats"),
                        identifier: None,
                    });
                }
                // A name alone never identifies a pupil (two pupils may share one), so it
                // counts only as a statement that no other identifier was given.
                None => {}
            }
        }
        let by = evidence
            .iter()
            .map(|(what, _)| what.as_str())
            .collect::<Vec<_>>()
            .join(" and ");
        let pupil = self.decide(evidence, id)?;
        if id.date_of_birth.is_none()
            && let Some(written) = written_name(id)
            && contradicts(&written, pupil)
        {
            return Err(NoMatch {
                kind: ReviewKind::AmbiguousPupil,
                reason: format!(
                    "the row's name `{written}` is not the pupil its {by} names ({} {}, admission number {}): \
                     check with the provider which pupil the row is for",
                    pupil.legal_forename, pupil.legal_surname, pupil.admission_number
                ),
                identifier: None,
            });
        }
        Ok(Matched { pupil, by })
    }

    fn decide(&self, evidence: Vec<(String, Vec<usize>)>, id: &IdentityFields) -> Result<&PupilRecord, NoMatch> {
        if evidence.is_empty() {
            let reason = if names(id).is_some() {
                "the row names the pupil only by name, and names alone never identify a pupil: \
                 ask the provider to add the date of birth or their reference, and name that column in the format"
            } else {
                "the row has none of the identifiers this provider's format names"
            };
            return Err(NoMatch {
                kind: ReviewKind::UnknownPupil,
                reason: reason.to_string(),
                identifier: None,
            });
        }
        if let Some((what, _)) = evidence.iter().find(|(_, found)| found.is_empty()) {
            return Err(NoMatch {
                kind: ReviewKind::UnknownPupil,
                reason: format!("no pupil on the roster has {what}"),
                identifier: None,
            });
        }
        let mut common: BTreeSet<usize> = evidence[0].1.iter().copied().collect();
        for (_, found) in &evidence[1..] {
            common.retain(|i| found.contains(i));
        }
        match (common.len(), common.iter().next()) {
            (1, Some(&i)) => self.pupils.get(i).ok_or_else(|| NoMatch {
                kind: ReviewKind::UnknownPupil,
                reason: "internal index out of step with the roster".into(),
                identifier: None,
            }),
            (0, _) => Err(NoMatch {
                kind: ReviewKind::AmbiguousPupil,
                reason: format!(
                    "the row's identifiers name different pupils: {}",
                    evidence
                        .iter()
                        .map(|(what, found)| format!("{what} is {}", self.describe(found)))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                identifier: None,
            }),
            (n, _) => Err(NoMatch {
                kind: ReviewKind::AmbiguousPupil,
                reason: format!(
                    "{n} pupils fit {}: {}",
                    evidence
                        .iter()
                        .map(|(w, _)| w.as_str())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    self.describe(&common.into_iter().collect::<Vec<_>>())
                ),
                identifier: None,
            }),
        }
    }

    fn describe(&self, found: &[usize]) -> String {
        found
            .iter()
            .filter_map(|&i| self.pupils.get(i))
            .map(|p| format!("admission number {}", p.admission_number))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The pupil a row names, and by what.
#[derive(Debug, Clone)]
pub struct Matched<'a> {
    /// The pupil.
    pub pupil: &'a PupilRecord,
    /// The identifiers that named them: `provider reference BF-104 and UPN ...`.
    pub by: String,
}

/// The row's name as written, from one column or two (for messages).
fn written_name(id: &IdentityFields) -> Option<String> {
    if let Some(full) = &id.full_name {
        return Some(full.text.clone());
    }
    match (&id.forename, &id.surname) {
        (Some(f), Some(s)) => Some(format!("{f} {s}")),
        (None, Some(n)) | (Some(n), None) => Some(n.clone()),
        (None, None) => None,
    }
}

/// Whether a written name clearly is not the pupil's: none of the parts of their surname (a
/// hyphenated or double surname has several) is among the name's words, wherever they are, and
/// the surname is not inside the name run together (`O Brien` for `O'Brien`).
fn contradicts(written: &str, pupil: &PupilRecord) -> bool {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '/')
            .map(fold)
            .filter(|w| !w.is_empty())
            .collect()
    };
    let said = words(written);
    let surname = words(&pupil.legal_surname);
    if said.is_empty() || surname.is_empty() {
        return false;
    }
    let together = fold(written);
    !surname.iter().any(|part| said.contains(part)) && !together.contains(&fold(&pupil.legal_surname))
}

/// The row's forename and surname, from one column or two.
fn names(id: &IdentityFields) -> Option<(String, String)> {
    if let Some(full) = &id.full_name {
        return match full.order {
            NameOrder::SurnameFirst => {
                let (surname, forename) = full.text.split_once(',').unwrap_or((&full.text, ""));
                Some((forename.trim().to_string(), surname.trim().to_string()))
            }
            // Where the surname starts is unknown (`Mary Ann Smith`, `Jo Van Dyke`), so the key
            // below joins both parts and the split point does not matter.
            NameOrder::ForenameFirst => Some((full.text.clone(), String::new())),
        };
    }
    match (&id.forename, &id.surname) {
        (Some(f), Some(s)) => Some((f.clone(), s.clone())),
        _ => None,
    }
}

/// Case, spacing, punctuation and accents do not matter: `O’Brien, Zoë` = `OBRIEN zoe`.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn name_key(forename: &str, surname: &str, dob: NaiveDate) -> String {
    format!("{}{}|{dob}", fold(forename), fold(surname))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::observation::FullName;
    use crate::roster::RosterColumns;

    fn index() -> RosterIndex {
        let cols = RosterColumns::default();
        let pupils =
            crate::roster::parse_pupils(include_bytes!("../../../../samples/roster/pupils.csv"), &cols).unwrap();
        let providers = [
            "bright-futures",
            "skills-hub",
            "riverside-farm",
            "boxing-academy",
            "northstar",
        ];
        let placements = crate::roster::parse_placements(
            include_bytes!("../../../../samples/roster/placements.csv"),
            &cols,
            &providers,
        )
        .unwrap();
        RosterIndex::new(pupils, &placements)
    }

    fn upn_of(r: Result<&PupilRecord, NoMatch>) -> String {
        r.map(|p| p.upn.to_string())
            .unwrap_or_else(|e| format!("{}: {}", e.kind, e.reason))
    }

    #[test]
    fn accents_case_spacing_and_punctuation_do_not_matter() {
        assert_eq!(fold(" O’Brien "), fold("o'brien"));
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("SIOBHÁN"), fold("Siobhan"));
    }

    #[test]
    fn each_identifier_finds_the_pupil() {
        let ix = index();
        let by_ref = IdentityFields {
            provider_ref: Some("bf-104".into()),
            ..Default::default()
        };
        assert_eq!(upn_of(ix.find("bright-futures", &by_ref)), "Q371432121107");
        let by_adno = IdentityFields {
            admission_number: Some("2109".into()),
            ..Default::default()
        };
        assert_eq!(upn_of(ix.find("boxing-academy", &by_adno)), "R371432121156");
        let by_name = IdentityFields {
            full_name: Some(FullName {
                text: "O'BRIEN,  Zoe".into(),
                order: NameOrder::SurnameFirst,
            }),
            date_of_birth: Some(DateOfBirth::Date(NaiveDate::from_ymd_opt(2010, 7, 14).unwrap())),
            ..Default::default()
        };
        assert_eq!(upn_of(ix.find("skills-hub", &by_name)), "R371432121100");
        let forename_first = IdentityFields {
            full_name: Some(FullName {
                text: "Kacper Nowak".into(),
                order: NameOrder::ForenameFirst,
            }),
            date_of_birth: Some(DateOfBirth::Date(NaiveDate::from_ymd_opt(2011, 5, 30).unwrap())),
            ..Default::default()
        };
        assert_eq!(upn_of(ix.find("riverside-farm", &forename_first)), "G371432121121");
    }

    #[test]
    fn a_reference_belongs_to_its_provider() {
        let ix = index();
        let other = IdentityFields {
            provider_ref: Some("BF-104".into()),
            ..Default::default()
        };
        assert!(upn_of(ix.find("skills-hub", &other)).starts_with("unknown-pupil"));
    }

    #[test]
    fn names_alone_never_identify_a_pupil() {
        let ix = index();
        let smith = IdentityFields {
            surname: Some("Smith".into()),
            forename: Some("Oliver".into()),
            ..Default::default()
        };
        let got = upn_of(ix.find("boxing-academy", &smith));
        assert!(got.starts_with("unknown-pupil") && got.contains("names alone"), "{got}");
    }

    #[test]
    fn disagreeing_or_unknown_identifiers_go_to_a_person() {
        let ix = index();
        let disagree = IdentityFields {
            provider_ref: Some("BF-104".into()),
            upn: Some("L371432121114".into()),
            ..Default::default()
        };
        let got = upn_of(ix.find("bright-futures", &disagree));
        assert!(
            got.starts_with("ambiguous-pupil") && got.contains("different pupils"),
            "{got}"
        );
        let unknown = IdentityFields {
            provider_ref: Some("BF-999".into()),
            ..Default::default()
        };
        assert!(
            upn_of(ix.find("bright-futures", &unknown))
                .contains("no pupil on the roster has provider reference BF-999")
        );
        let invalid = IdentityFields {
            upn: Some("A801200005001".into()),
            ..Default::default()
        };
        assert!(upn_of(ix.find("northstar", &invalid)).starts_with("invalid-identifier"));
    }

    #[test]
    fn an_invalid_identifier_beside_a_valid_one_is_the_one_shown() {
        // BF-104 is Jayden's reference; the UPN beside it has a wrong check letter.
        let row = IdentityFields {
            provider_ref: Some("BF-104".into()),
            upn: Some("A371432121107".into()),
            ..Default::default()
        };
        assert_eq!(row.identifier().as_deref(), Some("BF-104"));
        let e = index().find("bright-futures", &row).unwrap_err();
        assert_eq!(e.kind, ReviewKind::InvalidIdentifier);
        assert_eq!(e.identifier.as_deref(), Some("A371432121107"), "{}", e.reason);
    }

    #[test]
    fn a_name_beside_an_identifier_must_not_contradict_its_pupil() {
        let ix = index();
        let row = |surname: &str, forename: &str| IdentityFields {
            admission_number: Some("2109".into()),
            surname: Some(surname.into()),
            forename: Some(forename.into()),
            ..Default::default()
        };
        // 2109 is Oliver Smith: his name in any case, spacing or order is him.
        for (s, f) in [
            ("Smith", "Oliver"),
            ("SMITH", "olly"),
            ("Oliver", "Smith"),
            (" smith ", ""),
        ] {
            assert_eq!(
                upn_of(ix.find("boxing-academy", &row(s, f))),
                "R371432121156",
                "{s} {f}"
            );
        }
        let e = ix.find("boxing-academy", &row("Clarke", "Jayden")).unwrap_err();
        assert_eq!(e.kind, ReviewKind::AmbiguousPupil);
        assert!(
            e.reason.contains("`Jayden Clarke` is not the pupil its admission number 2109 names (Oliver Smith, admission number 002109)"),
            "{}",
            e.reason
        );
        // One column, in either order: BF-104 is Jayden Clarke.
        let full = |text: &str, order| IdentityFields {
            provider_ref: Some("BF-104".into()),
            full_name: Some(FullName {
                text: text.into(),
                order,
            }),
            ..Default::default()
        };
        let jayden = |text| upn_of(ix.find("bright-futures", &full(text, NameOrder::ForenameFirst)));
        assert_eq!(jayden("Jayden CLARKE"), "Q371432121107");
        assert_eq!(jayden("Clarke Jayden"), "Q371432121107");
        assert!(
            jayden("Jayden Clarkson").starts_with("ambiguous-pupil"),
            "{}",
            jayden("Jayden Clarkson")
        );
        let surname_first = upn_of(ix.find("bright-futures", &full("Nowak, Kacper", NameOrder::SurnameFirst)));
        assert!(
            surname_first.contains("`Nowak, Kacper` is not the pupil its provider reference BF-104 names"),
            "{surname_first}"
        );
    }

    #[test]
    fn hyphens_and_accents_in_a_surname_do_not_contradict() {
        let pupil = PupilRecord {
            line: 2,
            upn: Upn::parse("R371432121100").unwrap(),
            admission_number: "1".into(),
            legal_surname: "García-O’Brien".into(),
            legal_forename: "Zoë".into(),
            preferred_forename: None,
            date_of_birth: NaiveDate::from_ymd_opt(2010, 7, 14).unwrap(),
            year_group: None,
        };
        for written in ["Zoe Garcia", "OBRIEN, zoe", "Zoë García O Brien", "garcia-obrien zoe"] {
            assert!(!contradicts(written, &pupil), "{written}");
        }
        for written in ["Zoe Smith", "Brien-Smith, Zoe"] {
            assert!(contradicts(written, &pupil), "{written}");
        }
    }
}
