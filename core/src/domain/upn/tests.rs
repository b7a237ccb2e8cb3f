#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

#[test]
fn reference_example_is_valid_and_its_wrong_letter_is_not() {
    let upn = Upn::parse("B801200005001").unwrap();
    assert_eq!(upn.as_str(), "B801200005001");
    assert!(!upn.is_temporary());
    assert_eq!(
        Upn::parse("A801200005001"),
        Err(UpnError::WrongCheckLetter {
            text: "A801200005001".into(),
            found: 'A',
            expected: 'B'
        })
    );
}

#[test]
fn wrong_check_letter_says_which_letter_is_implied() {
    let msg = Upn::parse("A801200005001").unwrap_err().to_string();
    assert!(msg.contains("starts with A"), "{msg}");
    assert!(msg.contains("implies B"), "{msg}");
}

#[test]
fn every_upn_in_the_sample_roster_is_valid() {
    let csv = include_str!("../../../../samples/roster/pupils.csv");
    let upns: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next())
        .filter(|s| !s.trim().is_empty())
        .collect();
    assert_eq!(upns.len(), 15);
    for text in upns {
        let upn = Upn::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(upn.to_string(), text);
    }
}

#[test]
fn trims_and_uppercases() {
    assert_eq!(Upn::parse("  b801200005001\n").unwrap().as_str(), "B801200005001");
    assert_eq!(" b801200005001 ".parse::<Upn>().unwrap().as_str(), "B801200005001");
}

#[test]
fn wrong_length_counts_characters() {
    assert_eq!(
        Upn::parse("B80120000500"),
        Err(UpnError::WrongLength {
            text: "B80120000500".into(),
            found: 12
        })
    );
    let msg = Upn::parse("B8012000050011").unwrap_err().to_string();
    assert!(msg.contains("14 characters") && msg.contains("13"), "{msg}");
    assert_eq!(Upn::parse("   "), Err(UpnError::Empty));
    // Non-ASCII counts as one character each, not bytes.
    assert!(matches!(
        Upn::parse("É80120000500"),
        Err(UpnError::WrongLength { found: 12, .. })
    ));
}

#[test]
fn bad_characters_are_reported_by_position() {
    let cases = [
        ("1801200005001", 1, '1'),
        ("I801200005001", 1, 'I'),
        ("B8O1200005001", 3, 'O'),
        ("B80120000X001", 10, 'X'),
        ("B8012000050-1", 12, '-'),
        ("B80120000500O", 13, 'O'),
        ("B80120000500É", 13, 'É'),
    ];
    for (text, position, found) in cases {
        match Upn::parse(text) {
            Err(UpnError::BadCharacter {
                position: p, found: f, ..
            }) => {
                assert_eq!((p, f), (position, found), "{text}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    let msg = Upn::parse("B8O1200005001").unwrap_err().to_string();
    assert!(msg.contains("position 3") && msg.contains("local authority"), "{msg}");
}

/// Computes the check letter independently, straight from the reference's wording.
fn reference_check_letter(rest: &str) -> char {
    let alphabet: Vec<char> = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789".chars().collect();
    let sum: usize = rest
        .chars()
        .enumerate()
        .map(|(i, c)| alphabet.iter().position(|&a| a == c).unwrap() * (i + 2))
        .sum();
    alphabet[sum % 23]
}

#[test]
fn temporary_upn_ending_in_a_letter_is_valid() {
    let rest = "80120000500A";
    let text = format!("{}{rest}", reference_check_letter(rest));
    let upn = Upn::parse(&text).unwrap();
    assert!(upn.is_temporary());
}

#[test]
fn every_changed_digit_is_caught() {
    let good = "B801200005001";
    for position in 1..13 {
        let mut chars: Vec<char> = good.chars().collect();
        let digit = chars[position].to_digit(10).unwrap();
        chars[position] = char::from_digit((digit + 1) % 10, 10).unwrap();
        let text: String = chars.into_iter().collect();
        assert!(
            matches!(Upn::parse(&text), Err(UpnError::WrongCheckLetter { .. })),
            "{text}"
        );
    }
}

#[test]
fn check_letter_agrees_with_the_reference_wording() {
    for rest in [
        "801200005001",
        "371432121100",
        "999999999999",
        "000000000000",
        "12345678901Z",
    ] {
        let text = format!("{}{rest}", reference_check_letter(rest));
        assert!(Upn::parse(&text).is_ok(), "{text}");
    }
}

#[test]
fn serde_is_the_string_and_validates() {
    let upn = Upn::parse("B801200005001").unwrap();
    assert_eq!(serde_json::to_string(&upn).unwrap(), r#""B801200005001""#);
    assert_eq!(serde_json::from_str::<Upn>(r#""b801200005001""#).unwrap(), upn);
    let err = serde_json::from_str::<Upn>(r#""A801200005001""#).unwrap_err();
    assert!(err.to_string().contains("check letter"), "{err}");
}
