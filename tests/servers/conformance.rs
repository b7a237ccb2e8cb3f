//! The shared conformance checks of the connector contract, per real server: a failed
//! acknowledge (move, flag) is harmless — the document is committed, the next run imports
//! nothing twice — and the server going away and coming back is survived.
//! (Killing the process between fetch and commit is not yet covered here; see the issue note.)

use std::time::Duration;

use crate::support::dovecot::{Dovecot, PASSWORD, message};
use crate::support::install::Install;
use crate::support::sample_servers::sample_files;
use crate::support::sshd::Sshd;

/// Runs sync twice with the server stopped in between; asserts each return once, no error at the end.
fn story(install: &Install, stop: &mut dyn FnMut(), start: &mut dyn FnMut()) {
    let first = install.sync(None);
    assert_eq!(first[0]["documents"], 1, "{first:?}");
    assert!(
        first[0]["error"].is_null(),
        "a failed acknowledge is only logged: {first:?}"
    );
    let marks = install.marks();
    stop();
    let down = install.sync(None);
    assert_eq!(down[0]["error_kind"], "transient", "{down:?}");
    start();
    let back = install.sync(None);
    assert_eq!(
        (back[0]["documents"].as_i64(), back[0]["error"].clone()),
        (Some(0), serde_json::Value::Null),
        "{back:?}"
    );
    assert_eq!(install.marks(), marks);
}

#[test]
fn sftp_failed_move_is_harmless_and_a_server_restart_is_survived() {
    let sshd = std::cell::RefCell::new(Sshd::start());
    let (name, bytes) = sample_files("bright-futures").swap_remove(0);
    sshd.borrow().put(&name, &bytes, Duration::from_secs(3600));
    let install = Install::new(None);
    install.import_sample_roster();
    // The SFTP user may not create a folder under /proc: every move fails.
    install.add_connector(
        "bf",
        "bright-futures",
        &sshd
            .borrow()
            .connector_toml("after = \"move\"\nmove_to = \"/proc/apsync-done\""),
    );
    story(&install, &mut || sshd.borrow_mut().stop(), &mut || {
        sshd.borrow_mut().restart()
    });
    assert!(sshd.borrow().outgoing().join(&name).exists(), "left in place");
}

#[test]
fn imap_failed_move_is_harmless_and_a_server_restart_is_survived() {
    let dovecot = std::cell::RefCell::new(Dovecot::start());
    let (name, bytes) = sample_files("bright-futures").swap_remove(0);
    dovecot
        .borrow()
        .deliver("INBOX", &message("r@bf.test", "x", &[(&name, "text/csv", &bytes)]));
    let install = Install::new(None);
    install.import_sample_roster();
    std::fs::write(install.path("pw"), PASSWORD).unwrap();
    // A folder name the server refuses: every move fails.
    install.add_connector(
        "bf",
        "bright-futures",
        &dovecot.borrow().connector_toml(
            "pw",
            "senders = [\"bf.test\"]\nafter = \"move\"\nmove_to = \"bad/name\"",
        ),
    );
    story(&install, &mut || dovecot.borrow_mut().stop(), &mut || {
        dovecot.borrow_mut().restart()
    });
    assert_eq!(dovecot.borrow().count("INBOX"), 1, "left in place");
}
