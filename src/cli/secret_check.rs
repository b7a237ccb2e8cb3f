//! `check`, offline: each secret file the configuration names exists and can be read (its
//! content is never looked at), and the error names every full path looked in.

use std::path::{Path, PathBuf};

use crate::config::{ConfigError, ConfigErrors, LoadedConfig, SecretFile};

/// Every secret file that cannot be opened, as configuration errors at its key.
pub fn check_secret_files(loaded: &LoadedConfig) -> Result<(), ConfigErrors> {
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let unit = super::unit::installed_unit()
        .map(|(_, text)| super::unit::credentials(&text))
        .unwrap_or_default();
    let errors: Vec<ConfigError> = crate::config::secret_files(&loaded.config)
        .iter()
        .filter_map(|f| unreadable(f, credentials.as_deref(), loaded.dir(), &unit))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors {
            file: loaded.path.display().to_string(),
            errors,
        })
    }
}

/// The places a secret may be: an absolute path as is; a relative name in
/// `$CREDENTIALS_DIRECTORY` when set (the service), else beside the configuration and, when the
/// installed unit loads a credential of that name, the file it loads it from.
fn places(f: &SecretFile, credentials: Option<&Path>, dir: &Path, unit: &[(String, PathBuf)]) -> Vec<PathBuf> {
    if f.path.is_absolute() || credentials.is_some() {
        return vec![f.resolve(credentials, dir)];
    }
    let mut out = vec![dir.join(&f.path)];
    let name = f.path.to_string_lossy();
    out.extend(unit.iter().filter(|(n, _)| *n == name).map(|(_, p)| p.clone()));
    out
}

fn unreadable(
    f: &SecretFile,
    credentials: Option<&Path>,
    dir: &Path,
    unit: &[(String, PathBuf)],
) -> Option<ConfigError> {
    let mut tried = Vec::new();
    for place in places(f, credentials, dir, unit) {
        match std::fs::File::open(&place) {
            Ok(file) if file.metadata().is_ok_and(|m| !m.is_dir()) => return None,
            Ok(_) => tried.push(format!("{} (a folder, not a file)", place.display())),
            Err(e) => tried.push(format!("{} ({e})", place.display())),
        }
    }
    let hint = if credentials.is_some() {
        "check the unit's LoadCredential= names it"
    } else {
        "create it, readable by the apsync user (0640 root:apsync), or give an absolute path; under systemd, a relative name is read from $CREDENTIALS_DIRECTORY (LoadCredential=NAME:PATH)"
    };
    Some(ConfigError::new(
        f.key.clone(),
        format!("cannot read the secret file: looked in {}; {hint}", tried.join(" and ")),
    ))
}
