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

/// One sample return from a provider that sends files (SFTP) or emails (IMAP).
#[derive(Debug, Clone)]
pub struct Return {
    /// The provider.
    pub provider: &'static str,
    /// The file name.
    pub name: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// The providers whose returns arrive on a server (northstar's API serves its pages itself):
/// (provider, mailbox, sender, media type); no mailbox means SFTP.
const SENDERS: &[(&str, Option<&str>, &str, &str)] = &[
    ("bright-futures", None, "", ""),
    ("skills-hub", None, "", ""),
    (
        "riverside-farm",
        Some("Riverside"),
        "Riverside Farm <returns@riverside-farm.test>",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "boxing-academy",
        Some("Boxing"),
        "office@boxing-academy.test",
        "text/csv",
    ),
];

/// The returns of [`SENDERS`], each provider's in name order.
pub fn sample_returns() -> Vec<Return> {
    SENDERS
        .iter()
        .flat_map(|(provider, ..)| {
            sample_files(provider)
                .into_iter()
                .map(|(name, bytes)| Return { provider, name, bytes })
        })
        .collect()
}

impl SampleServers {
    /// Starts the servers and puts the samples on them.
    pub fn start() -> SampleServers {
        SampleServers::start_holding_back(|_| false).0
    }

    /// Starts the servers with the sample returns, except those `later` picks: they are given
    /// back, in the order they came, for [`SampleServers::send`] (a provider's return arriving
    /// while apsync runs).
    pub fn start_holding_back(later: impl Fn(&Return) -> bool) -> (SampleServers, Vec<Return>) {
        let sshd = Sshd::start();
        let dovecot = Dovecot::start();
        for (_, mailbox, ..) in SENDERS {
            if let Some(mailbox) = mailbox {
                dovecot.create_mailbox(mailbox);
            }
        }
        let api = Api::serve(northstar(Arc::new(Mutex::new(Vec::new()))));
        let servers = SampleServers { sshd, dovecot, api };
        let (held, now): (Vec<Return>, Vec<Return>) = sample_returns().into_iter().partition(|r| later(r));
        for r in &now {
            servers.send(r);
        }
        (servers, held)
    }

    /// Sends a provider's return: dropped on SFTP, or emailed to its mailbox.
    pub fn send(&self, r: &Return) {
        let Some((_, mailbox, from, media_type)) = SENDERS.iter().find(|(p, ..)| *p == r.provider) else {
            panic!("{} sends no returns to a server", r.provider)
        };
        match mailbox {
            None => self.sshd.put(&r.name, &r.bytes, Duration::from_secs(3600)),
            Some(mailbox) => self.dovecot.deliver(
                mailbox,
                &message(
                    from,
                    &format!("Attendance {}", r.name),
                    &[(&r.name, media_type, &r.bytes)],
                ),
            ),
        }
    }

    /// Adds the five connectors that fetch the samples to `install`'s configuration.
    pub fn add_connectors(&self, install: &Install) {
        self.add_connectors_on(install, None);
    }

    /// [`SampleServers::add_connectors`], each run on `schedule` (cron) when given.
    pub fn add_connectors_on(&self, install: &Install, schedule: Option<&str>) {
        std::fs::write(install.path("imap-pw"), PASSWORD).unwrap();
        let scheduled = schedule.map(|s| format!("schedule = \"{s}\"\n")).unwrap_or_default();
        let add =
            |id: &str, provider: &str, table: &str| install.add_connector(id, provider, &format!("{scheduled}{table}"));
        add(
            "bright-futures-sftp",
            "bright-futures",
            &self
                .sshd
                .connector_toml("glob = \"BF_*.csv\"\nafter = \"move\"\nmove_to = \"imported\""),
        );
        add(
            "skills-hub-sftp",
            "skills-hub",
            &self.sshd.connector_toml("glob = \"Skills Hub*.csv\""),
        );
        add(
            "riverside-mail",
            "riverside-farm",
            &self.dovecot.connector_toml(
                "imap-pw",
                "mailbox = \"Riverside\"\nsenders = [\"@riverside-farm.test\"]\nglob = \"*.xlsx\"",
            ),
        );
        add(
            "boxing-mail",
            "boxing-academy",
            &self.dovecot.connector_toml(
                "imap-pw",
                "mailbox = \"Boxing\"\nsenders = [\"office@boxing-academy.test\"]\nafter = \"move\"\nmove_to = \"Done\"",
            ),
        );
        add(
            "northstar-api",
            "northstar",
            &format!(
                "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nstart_date = 2026-03-02\npaging = \"page\"\nnext_path = \"meta.next_page\"\n",
                self.api.url("/v1/attendance?from={from}&to={to}")
            ),
        );
    }
}
