//! Providers' returns left on an SFTP server: each file in a remote directory matching a glob
//! becomes a document. The server's host key is pinned in the configuration (no trust on first
//! use); files younger than a minimum age, or that change while being read, wait for the next run;
//! after the daemon commits a file it is kept, deleted or moved.

mod connect;
mod source;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use source::{SftpSecrets, SftpSource};

/// What happens to a remote file once it is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum After {
    /// Leave it; the checkpoint remembers it was read.
    #[default]
    Keep,
    /// Delete it.
    Delete,
    /// Move it to `move_to`.
    Move,
}

/// `[connector.sftp]` in the daemon configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct SftpConfig {
    /// The server's host name or address.
    pub host: Option<String>,
    /// Its port, default 22.
    pub port: Option<u16>,
    /// The account to log in as (old name: `user`).
    pub username: Option<String>,
    /// The server's host key as `ssh-ed25519 AAAA...` (from the provider, or from the error
    /// `apsync check --online` shows). A different key, or none, refuses the connection.
    pub host_key: Option<String>,
    /// A file (or systemd credential) holding the OpenSSH private key (ed25519 recommended).
    pub private_key_file: Option<PathBuf>,
    /// A file holding the private key's passphrase, if it has one.
    pub private_key_passphrase_file: Option<PathBuf>,
    /// A file holding the password, when the provider gives a password instead of taking a key.
    pub password_file: Option<PathBuf>,
    /// The remote directory returns are left in.
    pub path: Option<String>,
    /// Which file names to take, `*` and `?` wildcards, case-insensitive. Default `*`.
    pub glob: Option<String>,
    /// Files modified less than this many seconds ago may still be being written. Default 120.
    pub min_age_seconds: Option<u64>,
    /// `keep` (default), `delete` or `move`.
    pub after: Option<After>,
    /// With `after = "move"`: the remote directory imported files go to (absolute, or relative
    /// to `path`).
    pub move_to: Option<String>,
    /// Seconds allowed for connecting and for each operation. Default 30.
    pub timeout_seconds: Option<u64>,
}

impl SftpConfig {
    /// Pure checks, every problem at once as `(key, message)` with keys relative to the table.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&self.host) {
            problems.push(("host", "missing: the provider's SFTP server name".to_string()));
        }
        if self.port == Some(0) {
            problems.push(("port", "0 is not a port: leave it out for 22".to_string()));
        }
        if blank(&self.username) {
            problems.push((
                "username",
                "missing: the account the provider gave the school".to_string(),
            ));
        }
        if let Some(k) = &self.host_key
            && connect::parse_host_key(k).is_none()
        {
            problems.push((
                "host_key",
                format!("`{k}` is not an OpenSSH public key line such as `ssh-ed25519 AAAAC3Nza...`"),
            ));
        }
        match (&self.private_key_file, &self.password_file) {
            (None, None) => problems.push((
                "private_key_file",
                "missing: name a file holding the private key (or set password_file)".to_string(),
            )),
            (Some(_), Some(_)) => problems.push((
                "password_file",
                "give private_key_file or password_file, not both".to_string(),
            )),
            _ => {}
        }
        if self.private_key_passphrase_file.is_some() && self.private_key_file.is_none() {
            problems.push((
                "private_key_passphrase_file",
                "only meaningful with private_key_file".to_string(),
            ));
        }
        if blank(&self.path) {
            problems.push(("path", "missing: the remote directory, e.g. `/outgoing`".to_string()));
        }
        if let Some(g) = &self.glob
            && g.trim().is_empty()
        {
            problems.push(("glob", "empty: use `*` for every file, or e.g. `*.csv`".to_string()));
        }
        match (self.after.unwrap_or_default(), &self.move_to) {
            (After::Move, None) => problems.push((
                "move_to",
                "missing: after = \"move\" needs the remote folder to move files to".to_string(),
            )),
            (After::Keep | After::Delete, Some(_)) => problems.push((
                "move_to",
                "only used with after = \"move\"; remove it or set after = \"move\"".to_string(),
            )),
            _ => {}
        }
        if self.timeout_seconds == Some(0) {
            problems.push(("timeout_seconds", "must be at least 1".to_string()));
        }
        problems
    }
}

#[cfg(test)]
mod tests;
