//! File-name wildcards: `*` any run of characters, `?` one character, case-insensitive.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    // Iterative matching with one backtrack point for the last `*`: linear in practice, and no
    // recursion for a hostile pattern to blow the stack with.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        assert!(matches("*", "anything.csv"));
        assert!(matches("*.csv", "BF_attendance_2026-03-02.CSV"));
        assert!(!matches("*.csv", "notes.txt"));
        assert!(matches("BF_??.csv", "bf_01.csv"));
        assert!(matches("Skills Hub*w-c*.csv", "Skills Hub Register w-c 02-03-2026.csv"));
        assert!(!matches("a*b", "a"));
    }
}
