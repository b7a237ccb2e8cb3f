//! Secrets: read only from files named by `*_file` keys or from systemd credentials, held in a
//! type that never prints its value.

use std::path::{Path, PathBuf};

pub use apsync_connector_core::Secret;

/// Where a secret lives, as the configuration names it. Resolving it is I/O and happens after
/// validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The configuration key that named it, for error messages.
    pub key: String,
    /// The path as written: absolute, or a systemd credential name / a path relative to the
    /// configuration file.
    pub path: PathBuf,
}

/// A secret file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the secret named by `{key}` from {path}: {source}. Check the file exists and the \
     apsync user may read it (or that LoadCredential= names it)"
)]
pub struct SecretError {
    /// The configuration key.
    pub key: String,
    /// The file tried.
    pub path: PathBuf,
    /// Why it failed.
    #[source]
    pub source: std::io::Error,
}

impl SecretFile {
    /// The file to read: an absolute path as is; a relative one inside `$CREDENTIALS_DIRECTORY`
    /// when systemd provides it (so `LoadCredential=db-password:...` pairs with
    /// `password_file = "db-password"`), else relative to the configuration file's folder.
    pub fn resolve(&self, credentials_dir: Option<&Path>, config_dir: &Path) -> PathBuf {
        if self.path.is_absolute() {
            return self.path.clone();
        }
        match credentials_dir {
            Some(dir) => dir.join(&self.path),
            None => config_dir.join(&self.path),
        }
    }

    /// Reads the secret, trimming the trailing newline editors and `echo` add.
    pub fn read(&self, credentials_dir: Option<&Path>, config_dir: &Path) -> Result<Secret, SecretError> {
        let path = self.resolve(credentials_dir, config_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Secret::new(text.trim_end_matches(['\r', '\n']).to_string())),
            Err(source) => Err(SecretError {
                key: self.key.clone(),
                path,
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_prefer_the_credentials_directory() {
        let f = SecretFile {
            key: "database.password_file".into(),
            path: "db-password".into(),
        };
        assert_eq!(
            f.resolve(
                Some(Path::new("/run/credentials/apsync.service")),
                Path::new("/etc/apsync")
            ),
            PathBuf::from("/run/credentials/apsync.service/db-password")
        );
        assert_eq!(
            f.resolve(None, Path::new("/etc/apsync")),
            PathBuf::from("/etc/apsync/db-password")
        );
    }

    #[test]
    fn reading_trims_the_newline_and_names_the_key_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let f = SecretFile {
            key: "database.password_file".into(),
            path: "pw".into(),
        };
        assert_eq!(f.read(None, dir.path()).unwrap().expose(), "s3cret");
        let missing = SecretFile {
            key: "database.password_file".into(),
            path: "nope".into(),
        };
        let err = missing.read(None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("database.password_file") && err.contains("nope"), "{err}");
    }
}
