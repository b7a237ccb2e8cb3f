//! Naming a `[[connector]]`, `[[provider]]` or `[[endpoint]]` the way IT does in errors: by its
//! id (`connector "oak-farm-sftp".sftp.host`) rather than its place in the file (`connector[0]`).
//! An entry without an id, or sharing its id with another, keeps its place.

use super::error::ConfigError;
use super::raw::RawConfig;

/// How each entry with a usable id is named: (`connector[0]`, `connector "oak-farm-sftp"`).
#[derive(Debug, Default, Clone)]
pub struct EntryNames(Vec<(String, String)>);

impl EntryNames {
    /// The names of the entries in `raw`.
    pub fn of(raw: &RawConfig) -> EntryNames {
        let mut names = Vec::new();
        add(&mut names, "provider", raw.providers.iter().map(|p| p.id.as_deref()));
        add(&mut names, "connector", raw.connectors.iter().map(|c| c.id.as_deref()));
        add(&mut names, "endpoint", raw.endpoints.iter().map(|e| e.id.as_deref()));
        EntryNames(names)
    }

    /// `key` with its entry named by id, when it has one.
    pub fn name(&self, key: &str) -> String {
        for (place, name) in &self.0 {
            if let Some(rest) = key.strip_prefix(place.as_str())
                && (rest.is_empty() || rest.starts_with('.') || rest.starts_with(' '))
            {
                return format!("{name}{rest}");
            }
        }
        key.to_string()
    }

    /// Every error's key named by id.
    pub fn apply(&self, errors: &mut [ConfigError]) {
        for e in errors {
            e.key = self.name(&e.key);
        }
    }
}

fn add<'a>(names: &mut Vec<(String, String)>, what: &str, ids: impl Iterator<Item = Option<&'a str>>) {
    let ids: Vec<Option<&str>> = ids.map(|id| id.map(str::trim).filter(|id| !id.is_empty())).collect();
    for (i, id) in ids.iter().enumerate() {
        let Some(id) = id else { continue };
        let unique = ids.iter().filter(|other| **other == Some(*id)).count() == 1;
        if unique && !id.contains('"') {
            names.push((format!("{what}[{i}]"), format!("{what} \"{id}\"")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::{RawConnector, RawProvider};

    #[test]
    fn entries_are_named_by_a_unique_id_and_otherwise_by_place() {
        let raw = RawConfig {
            connectors: vec![
                RawConnector {
                    id: Some("oak-farm-sftp".into()),
                    ..Default::default()
                },
                RawConnector::default(),
            ],
            providers: vec![
                RawProvider {
                    id: Some("twin".into()),
                    ..Default::default()
                },
                RawProvider {
                    id: Some("twin".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let names = EntryNames::of(&raw);
        assert_eq!(
            names.name("connector[0].sftp.host"),
            "connector \"oak-farm-sftp\".sftp.host"
        );
        assert_eq!(names.name("connector[0]"), "connector \"oak-farm-sftp\"");
        assert_eq!(names.name("connector[1].id"), "connector[1].id");
        assert_eq!(names.name("provider[1].id"), "provider[1].id");
        assert_eq!(names.name("connector[01]"), "connector[01]");
    }
}
