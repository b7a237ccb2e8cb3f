//! One name per idea, and the old names still read.
//!
//! The same idea once had different names in different sections (`user` and `username`,
//! `security` and `tls`, `timeout_secs` and `timeout_seconds`, OAuth2 settings flat in one table
//! and nested in another). The names below are the ones to write; each old name is still
//! accepted, moved to its new name before the file is read, and `apsync check` warns about it,
//! naming the new one. README "Old names" lists them.

use super::error::ConfigError;

/// Where an old name may appear: a path of tables, `*` for each entry of an array of tables.
struct Alias {
    /// The table holding the old key, e.g. `["connector", "*", "sftp"]`.
    table: &'static [&'static str],
    /// The old key.
    old: &'static str,
    /// The new key, dotted when it moved into a sub-table (`oauth2.token_url`).
    new: &'static str,
}

const fn alias(table: &'static [&'static str], old: &'static str, new: &'static str) -> Alias {
    Alias { table, old, new }
}

const SFTP: &[&str] = &["connector", "*", "sftp"];
const IMAP: &[&str] = &["connector", "*", "imap"];
const HTTP: &[&str] = &["connector", "*", "http"];
const ENDPOINT: &[&str] = &["endpoint", "*"];
const ENDPOINT_AUTH: &[&str] = &["endpoint", "*", "auth"];

/// Every old name and its new one.
const ALIASES: &[Alias] = &[
    alias(SFTP, "user", "username"),
    alias(IMAP, "user", "username"),
    alias(IMAP, "security", "tls"),
    alias(IMAP, "oauth2_token_url", "oauth2.token_url"),
    alias(IMAP, "oauth2_client_id", "oauth2.client_id"),
    alias(IMAP, "oauth2_client_secret_file", "oauth2.client_secret_file"),
    alias(IMAP, "oauth2_scope", "oauth2.scope"),
    alias(HTTP, "oauth2_token_url", "oauth2.token_url"),
    alias(HTTP, "oauth2_client_id", "oauth2.client_id"),
    alias(HTTP, "oauth2_client_secret_file", "oauth2.client_secret_file"),
    alias(HTTP, "oauth2_scope", "oauth2.scope"),
    alias(&["email"], "oauth", "oauth2"),
    alias(ENDPOINT, "timeout_secs", "timeout_seconds"),
    alias(ENDPOINT_AUTH, "token_url", "oauth2.token_url"),
    alias(ENDPOINT_AUTH, "client_id", "oauth2.client_id"),
    alias(ENDPOINT_AUTH, "client_secret_file", "oauth2.client_secret_file"),
    alias(ENDPOINT_AUTH, "scope", "oauth2.scope"),
    alias(&["http"], "header_timeout_secs", "header_timeout_seconds"),
    alias(&["http"], "idle_timeout_secs", "idle_timeout_seconds"),
    alias(&["visits"], "push_interval_secs", "push_interval_seconds"),
];

/// What renaming found: warnings for old names used, errors for an old and a new name both set.
#[derive(Debug, Default)]
pub struct Renamed {
    /// The text to read: the original when no old name was used.
    pub text: Option<String>,
    /// One per old name used, at its key, naming the new name.
    pub warnings: Vec<ConfigError>,
    /// One per key given under both its old and its new name.
    pub errors: Vec<ConfigError>,
}

/// Moves every old name in `text` to its new one. Text that is not TOML is left for the reader to
/// report.
pub fn rename(text: &str) -> Renamed {
    let mut out = Renamed::default();
    let Ok(mut doc) = text.parse::<toml::Table>() else {
        return out;
    };
    for a in ALIASES {
        visit(&mut doc, a.table, String::new(), &mut |table, at| {
            move_key(table, a, at, &mut out);
        });
    }
    if !out.warnings.is_empty() {
        out.text = toml::to_string(&doc).ok();
    }
    out.warnings.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// Calls `f` on each table at `path` below `table`, with its key (`connector[0].sftp`).
fn visit(table: &mut toml::Table, path: &[&str], at: String, f: &mut dyn FnMut(&mut toml::Table, &str)) {
    let Some((head, rest)) = path.split_first() else {
        f(table, &at);
        return;
    };
    let here = if at.is_empty() {
        (*head).to_string()
    } else {
        format!("{at}.{head}")
    };
    match (table.get_mut(*head), rest.split_first()) {
        (Some(toml::Value::Array(items)), Some((&"*", rest))) => {
            for (i, item) in items.iter_mut().enumerate() {
                if let toml::Value::Table(t) = item {
                    visit(t, rest, format!("{here}[{i}]"), f);
                }
            }
        }
        (Some(toml::Value::Table(t)), _) => visit(t, rest, here, f),
        _ => {}
    }
}

fn move_key(table: &mut toml::Table, a: &Alias, at: &str, out: &mut Renamed) {
    let Some(value) = table.remove(a.old) else {
        return;
    };
    let old_key = format!("{at}.{}", a.old);
    let (parent, leaf) = match a.new.split_once('.') {
        Some((parent, leaf)) => (Some(parent), leaf),
        None => (None, a.new),
    };
    let target = match parent {
        None => Some(&mut *table),
        Some(parent) => match table
            .entry(parent)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        {
            toml::Value::Table(t) => Some(t),
            _ => None,
        },
    };
    match target {
        Some(t) if !t.contains_key(leaf) => {
            t.insert(leaf.to_string(), value);
            out.warnings.push(ConfigError::new(
                old_key,
                format!("an old name, still read: write `{}` instead", a.new),
            ));
        }
        _ => {
            table.insert(a.old.to_string(), value);
            out.errors.push(ConfigError::new(
                old_key,
                format!(
                    "`{}` is the old name of `{}`, which is also set: keep only `{}`",
                    a.old, a.new, a.new
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(e: &[ConfigError]) -> Vec<&str> {
        e.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn old_names_move_to_new_ones_with_a_warning_naming_the_new_name() {
        let text = r#"
[[connector]]
id = "a"
[connector.sftp]
user = "school"
[[connector]]
id = "b"
[connector.imap]
user = "returns@school.example"
security = "starttls"
oauth2_token_url = "https://login.example/token"
oauth2_scope = "s"
[[endpoint]]
id = "cpoms"
timeout_secs = 20
[endpoint.auth]
kind = "oauth2"
token_url = "https://login.example/token"
[email]
from = "a@b.example"
[email.oauth]
client_id = "x"
"#;
        let r = rename(text);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            keys(&r.warnings),
            [
                "connector[0].sftp.user",
                "connector[1].imap.oauth2_scope",
                "connector[1].imap.oauth2_token_url",
                "connector[1].imap.security",
                "connector[1].imap.user",
                "email.oauth",
                "endpoint[0].auth.token_url",
                "endpoint[0].timeout_secs",
            ]
        );
        assert!(r.warnings[0].message.contains("`username`"), "{:?}", r.warnings[0]);
        let doc: toml::Table = r.text.unwrap().parse().unwrap();
        let imap = &doc["connector"][1]["imap"];
        assert_eq!(imap["username"].as_str(), Some("returns@school.example"));
        assert_eq!(imap["tls"].as_str(), Some("starttls"));
        assert_eq!(
            imap["oauth2"]["token_url"].as_str(),
            Some("https://login.example/token")
        );
        assert_eq!(
            doc["endpoint"][0]["auth"]["oauth2"]["token_url"].as_str(),
            Some("https://login.example/token")
        );
        assert_eq!(doc["email"]["oauth2"]["client_id"].as_str(), Some("x"));
    }

    #[test]
    fn new_names_leave_the_text_alone_and_both_names_are_an_error() {
        let r = rename("[visits]\npush_interval_seconds = 5\n");
        assert!(r.text.is_none() && r.warnings.is_empty() && r.errors.is_empty());
        let r = rename("[visits]\npush_interval_seconds = 5\npush_interval_secs = 1\n");
        assert_eq!(keys(&r.errors), ["visits.push_interval_secs"]);
        assert!(r.errors[0].message.contains("keep only `push_interval_seconds`"));
        assert!(rename("not = [toml").text.is_none());
    }
}
