//! The "done means": the sample returns placed on a real sshd (bright-futures,
//! skills-hub), sent as real emails to a real Dovecot (riverside-farm, boxing-academy) and served
//! as API pages (northstar) end, after `apsync sync`, with exactly the expected register; a
//! second `sync` changes nothing.

use crate::support::install::{Install, root};
use crate::support::sample_servers::SampleServers;

#[test]
fn samples_over_sftp_imap_and_http_make_exactly_the_expected_register() {
    let servers = SampleServers::start();
    let install = Install::new(None);
    servers.add_connectors(&install);
    install.ok(&["check"]);
    let online = install.ok(&["check", "--online"]);
    // The five connectors, and the database (no SMTP or endpoint is configured here).
    assert_eq!(online.matches("connector ").count(), 5, "{online}");
    assert_eq!(online.matches(": ok").count(), 6, "{online}");
    assert!(online.contains("database: ok"), "{online}");
    install.import_sample_roster();

    let first = install.sync(None);
    for r in &first {
        assert_eq!(r["error"], serde_json::Value::Null, "{r:?}");
    }
    let documents: i64 = first.iter().map(|r| r["documents"].as_i64().unwrap()).sum();
    assert_eq!(documents, 26);
    let expected = std::fs::read_to_string(root().join("samples/expected/marks.csv"))
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(install.marks(), expected);

    let again = install.sync(None);
    assert!(
        again.iter().all(|r| r["documents"] == 0 && r["error"].is_null()),
        "{again:?}"
    );
    assert_eq!(install.marks(), expected, "a second sync changes nothing");
    assert_eq!(servers.dovecot.count("Done"), 2);
}
