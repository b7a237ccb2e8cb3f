//! The school's MIS export of pupils.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::columns::RosterColumns;
use super::error::{RosterFile, RosterFileError, RosterRowProblem};
use super::table::{self, RowCheck};
use crate::domain::Upn;

/// A pupil as the MIS export lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PupilRecord {
    /// The line of the file the pupil came from (header = line 1), for later messages.
    pub line: usize,
    /// The validated UPN.
    pub upn: Upn,
    /// The school's admission number, as written (compare with [`normalise_admission_number`]).
    pub admission_number: String,
    /// Legal surname.
    pub legal_surname: String,
    /// Legal forename.
    pub legal_forename: String,
    /// Preferred forename; `None` when the export has none, meaning the legal forename.
    pub preferred_forename: Option<String>,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// National curriculum year: reception is 0, nursery N1/N2 are -2/-1; `None` when blank or
    /// outside the national curriculum (`X`).
    pub year_group: Option<i32>,
}

impl PupilRecord {
    /// The forename to use when writing to staff: the preferred one if given, else the legal one.
    pub fn forename(&self) -> &str {
        self.preferred_forename.as_deref().unwrap_or(&self.legal_forename)
    }
}

/// An admission number in a form where leading zeros and case do not matter, for comparing:
/// `002101` and `2101` are the same pupil. A number of only zeros becomes `0`.
pub fn normalise_admission_number(text: &str) -> String {
    let text = text.trim().to_uppercase();
    let stripped = text.trim_start_matches('0');
    if stripped.is_empty() && !text.is_empty() {
        "0".to_string()
    } else {
        stripped.to_string()
    }
}

/// Parses the MIS export of pupils, refusing the whole file if any row is wrong.
///
/// Every row must have a valid UPN, admission number, legal names and date of birth; UPNs and
/// admission numbers must be unique in the file.
pub fn parse_pupils(bytes: &[u8], cols: &RosterColumns) -> Result<Vec<PupilRecord>, RosterFileError> {
    let fail = |problems| RosterFileError {
        file: RosterFile::Pupils,
        problems,
    };
    let mut problems = Vec::new();
    table::check_date_formats(&cols.date_formats, &mut problems);
    let Some(table) = table::read(bytes, &mut problems) else {
        return Err(fail(problems));
    };
    let upn = table.required(&cols.pupil_upn, "pupil_upn", &mut problems);
    let adno = table.required(&cols.admission_number, "admission_number", &mut problems);
    let surname = table.required(&cols.legal_surname, "legal_surname", &mut problems);
    let forename = table.required(&cols.legal_forename, "legal_forename", &mut problems);
    let preferred = table.optional(&cols.preferred_forename, &mut problems);
    let dob = table.required(&cols.date_of_birth, "date_of_birth", &mut problems);
    let year = table.required(&cols.year_group, "year_group", &mut problems);
    let (Some(upn), Some(adno), Some(surname), Some(forename), Some(dob), Some(year)) =
        (upn, adno, surname, forename, dob, year)
    else {
        return Err(fail(problems));
    };

    let mut pupils = Vec::with_capacity(table.rows.len());
    let mut upn_lines: HashMap<Upn, usize> = HashMap::new();
    let mut adno_lines: HashMap<String, usize> = HashMap::new();
    for row in &table.rows {
        let mut check = RowCheck::new(&table, row, &cols.date_formats);
        let pupil_upn = check.upn(upn);
        let admission_number = check.required_text(adno).map(str::to_string);
        let legal_surname = check.required_text(surname).map(str::to_string);
        let legal_forename = check.required_text(forename).map(str::to_string);
        let preferred_forename = check.optional_text(preferred);
        let date_of_birth = check.date(dob);
        let year_group = match parse_year_group(check.text(year)) {
            Ok(year_group) => Some(year_group),
            Err(()) => {
                let problem = RosterRowProblem::BadYearGroup {
                    column: check.header(year),
                    text: check.text(year).into(),
                };
                check.problems.push(problem);
                None
            }
        };
        if let Some(upn) = &pupil_upn {
            if let Some(&first_line) = upn_lines.get(upn) {
                check.problems.push(RosterRowProblem::DuplicateUpn {
                    upn: upn.clone(),
                    first_line,
                });
            } else {
                upn_lines.insert(upn.clone(), row.line);
            }
        }
        if let Some(number) = &admission_number {
            let key = normalise_admission_number(number);
            if let Some(&first_line) = adno_lines.get(&key) {
                check.problems.push(RosterRowProblem::DuplicateAdmissionNumber {
                    admission_number: number.clone(),
                    first_line,
                });
            } else {
                adno_lines.insert(key, row.line);
            }
        }
        let row_problems = std::mem::take(&mut check.problems);
        if !row_problems.is_empty() {
            table::push_row_problems(&mut problems, row.line, row_problems);
            continue;
        }
        if let (Some(upn), Some(admission_number), Some(legal_surname), Some(legal_forename), Some(dob), Some(yg)) = (
            pupil_upn,
            admission_number,
            legal_surname,
            legal_forename,
            date_of_birth,
            year_group,
        ) {
            pupils.push(PupilRecord {
                line: row.line,
                upn,
                admission_number,
                legal_surname,
                legal_forename,
                preferred_forename,
                date_of_birth: dob,
                year_group: yg,
            });
        }
    }
    if problems.is_empty() {
        Ok(pupils)
    } else {
        Err(fail(problems))
    }
}

/// A national curriculum year from the ways MIS exports write it: `11`, `Y11`, `Year 11`,
/// `R` or `Reception` (0), `N1`/`N2` (nursery, -2/-1), `X` (outside the national curriculum)
/// or blank (`None`).
pub(crate) fn parse_year_group(text: &str) -> Result<Option<i32>, ()> {
    let lower = text.trim().to_lowercase();
    let number = ["year", "yr", "y"]
        .iter()
        .find_map(|prefix| lower.strip_prefix(prefix))
        .unwrap_or(&lower)
        .trim();
    match number {
        "" if lower.is_empty() => Ok(None),
        "x" => Ok(None),
        "r" | "reception" => Ok(Some(0)),
        "n1" => Ok(Some(-2)),
        "n2" => Ok(Some(-1)),
        _ => match number.parse::<i32>() {
            Ok(n) if (0..=14).contains(&n) && number.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
            _ => Err(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_groups_in_the_usual_spellings() {
        for (text, expected) in [
            ("11", Some(11)),
            ("Y11", Some(11)),
            ("year 7", Some(7)),
            ("Yr 10", Some(10)),
            (" 09 ", Some(9)),
            ("R", Some(0)),
            ("Reception", Some(0)),
            ("N2", Some(-1)),
            ("N1", Some(-2)),
            ("X", None),
            ("", None),
        ] {
            assert_eq!(parse_year_group(text), Ok(expected), "{text}");
        }
        for bad in ["15", "-1", "+3", "Y", "eleven", "11a", "Year"] {
            assert_eq!(parse_year_group(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn admission_numbers_compare_without_leading_zeros() {
        assert_eq!(normalise_admission_number(" 002101 "), "2101");
        assert_eq!(normalise_admission_number("2101"), "2101");
        assert_eq!(normalise_admission_number("000"), "0");
        assert_eq!(normalise_admission_number("0a12"), "A12");
        assert_eq!(normalise_admission_number(""), "");
    }
}
