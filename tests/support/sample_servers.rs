//! The shared samples' returns on real servers, as providers would send them: bright-futures and
//! skills-hub on sshd, riverside-farm and boxing-academy emailed into Dovecot, northstar's pages
//! served by an in-process API; and the connectors that fetch them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::api::{Api, northstar};
use super::dovecot::{Dovecot, PASSWORD, message};
use super::install::{Install, root};
use super::sshd::Sshd;

/// The servers, kept alive while the value lives.
pub struct SampleServers {
    /// SFTP, holding bright-futures and skills-hub files.
    pub sshd: Sshd,
    /// IMAP, holding riverside-farm (mailbox `Riverside`) and boxing-academy (`Boxing`) emails.
    pub dovecot: Dovecot,
    /// The northstar API.
    pub api: Api,
}

/// A provider's sample returns, in name order.
pub fn sample_files(provider: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("samples/returns").join(provider))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

impl SampleServers {
    /// Starts the servers and puts the samples on them.
    pub fn start() -> SampleServers {
        let sshd = Sshd::start();
        for provider in ["bright-futures", "skills-hub"] {
            for (name, bytes) in sample_files(provider) {
                sshd.put(&name, &bytes, Duration::from_secs(3600));
            }
        }
        let dovecot = Dovecot::start();
        for (mailbox, provider, from, media_type) in [
            (
                "Riverside",
                "riverside-farm",
                "Riverside Farm <returns@riverside-farm.test>",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            ("Boxing", "boxing-academy", "office@boxing-academy.test", "text/csv"),
        ] {
            dovecot.create_mailbox(mailbox);
            for (name, bytes) in sample_files(provider) {
                dovecot.deliver(
                    mailbox,
                    &message(from, &format!("Attendance {name}"), &[(&name, media_type, &bytes)]),
                );
            }
        }
        let api = Api::serve(northstar(Arc::new(Mutex::new(Vec::new()))));
        SampleServers { sshd, dovecot, api }
    }

    /// Adds the five connectors that fetch the samples to `install`'s configuration.
    pub fn add_connectors(&self, install: &Install) {
        std::fs::write(install.path("imap-pw"), PASSWORD).unwrap();
        install.add_connector(
            "bright-futures-sftp",
            "bright-futures",
            &self
                .sshd
                .connector_toml("glob = \"BF_*.csv\"\nafter = \"move\"\nmove_to = \"imported\""),
        );
        install.add_connector(
            "skills-hub-sftp",
            "skills-hub",
            &self.sshd.connector_toml("glob = \"Skills Hub*.csv\""),
        );
        install.add_connector(
            "riverside-mail",
            "riverside-farm",
            &self.dovecot.connector_toml(
                "imap-pw",
                "mailbox = \"Riverside\"\nsenders = [\"@riverside-farm.test\"]\nglob = \"*.xlsx\"",
            ),
        );
        install.add_connector(
            "boxing-mail",
            "boxing-academy",
            &self.dovecot.connector_toml(
                "imap-pw",
                "mailbox = \"Boxing\"\nsenders = [\"office@boxing-academy.test\"]\nafter = \"move\"\nmove_to = \"Done\"",
            ),
        );
        install.add_connector(
            "northstar-api",
            "northstar",
            &format!(
                "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nstart_date = 2026-03-02\npaging = \"page\"\nnext_path = \"meta.next_page\"\n",
                self.api.url("/v1/attendance?from={from}&to={to}")
            ),
        );
    }
}
