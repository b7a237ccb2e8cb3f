//! The example configuration's connectors: each transport's example, uncommented, passes
//! `check` against dummy secret files; without them `check` names each full path it looked in;
//! old key names are still read, with a warning naming the new one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The secret files the connector examples name.
const SECRETS: &[&str] = &[
    "skills-hub-sftp-key",
    "m365-imap-client-secret",
    "gmail-app-password",
    "northstar-client-secret",
];

/// The example with every `#key` line of its Connectors section uncommented, written with its
/// formats into a fresh folder.
fn uncommented_example() -> (tempfile::TempDir, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("config/apsync.example.toml")).unwrap();
    let mut out = String::new();
    let mut in_connectors = false;
    for line in text.lines() {
        if line.starts_with("# --- ") {
            in_connectors = line.starts_with("# --- Connectors");
        }
        let commented_key =
            line.starts_with("#[") || line.starts_with("#") && line[1..].starts_with(|c: char| c.is_ascii_lowercase());
        if in_connectors && commented_key {
            out.push_str(&line[1..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    for table in ["folder", "sftp", "imap", "imap.oauth2", "http", "http.oauth2"] {
        assert!(
            out.contains(&format!("\n[connector.{table}]\n")),
            "no [connector.{table}] example"
        );
    }
    assert_eq!(out.matches("\n[[connector]]\n").count(), 5, "{out}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("formats")).unwrap();
    for f in std::fs::read_dir(root.join("config/formats")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join("formats").join(f.file_name().unwrap())).unwrap();
    }
    let config = dir.path().join("apsync.toml");
    std::fs::write(&config, out).unwrap();
    (dir, config)
}

fn check(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apsync"))
        .arg("check")
        .arg("--config")
        .arg(config)
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("APSYNC_CONFIG")
        .env("APSYNC_UNIT", "/nonexistent/apsync.service")
        .output()
        .unwrap()
}

#[test]
fn each_connector_example_passes_check_once_its_secret_files_exist() {
    let (dir, config) = uncommented_example();
    let out = check(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing secret files are a configuration error: {err}"
    );
    assert!(err.contains(&format!("{} problems", SECRETS.len())), "{err}");
    for name in SECRETS {
        let path = dir.path().join(name);
        assert!(err.contains(&format!("looked in {}", path.display())), "{name}: {err}");
    }
    assert!(
        err.contains("`connector \"skills-hub-sftp\".sftp.private_key_file`"),
        "named by id: {err}"
    );
    for name in SECRETS {
        std::fs::write(dir.path().join(name), "dummy\n").unwrap();
    }
    let out = check(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "the example uses only current names: {err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("configuration is valid"),
        "{out:?}"
    );
}

#[test]
fn old_names_are_read_and_check_warns_with_the_new_name() {
    let (dir, config) = uncommented_example();
    for name in SECRETS {
        std::fs::write(dir.path().join(name), "dummy\n").unwrap();
    }
    let text = std::fs::read_to_string(&config).unwrap();
    let old = text
        .replacen("username = \"example-academy\"", "user = \"example-academy\"", 1)
        .replacen("tls = \"implicit\"", "security = \"implicit\"", 1)
        .replace("push_interval_seconds = 5", "push_interval_secs = 5")
        // The http connector's OAuth2 settings flat in [connector.http], as they once were.
        .replace("[connector.http.oauth2]\n", "");
    let old = old
        .replace(
            "\ntoken_url = \"https://auth.northstar",
            "\noauth2_token_url = \"https://auth.northstar",
        )
        .replace(
            "\nclient_id = \"example-academy\"",
            "\noauth2_client_id = \"example-academy\"",
        )
        .replace(
            "\nclient_secret_file = \"northstar-client-secret\"",
            "\noauth2_client_secret_file = \"northstar-client-secret\"",
        )
        .replace("\nscope = \"attendance.read\"", "\noauth2_scope = \"attendance.read\"");
    std::fs::write(&config, &old).unwrap();
    let out = check(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{old}");
    for needle in [
        "warning: `connector \"skills-hub-sftp\".sftp.user`: an old name, still read: write `username` instead",
        "warning: `connector \"riverside-farm-m365\".imap.security`: an old name, still read: write `tls` instead",
        "warning: `connector \"northstar-api\".http.oauth2_token_url`: an old name, still read: write `oauth2.token_url` instead",
        "warning: `visits.push_interval_secs`: an old name, still read: write `push_interval_seconds` instead",
    ] {
        assert!(err.contains(needle), "{needle} missing from: {err}");
    }
    // Both names at once is a mistake, named by the connector's id.
    let both = old.replacen(
        "user = \"example-academy\"",
        "user = \"example-academy\"\nusername = \"x\"",
        1,
    );
    std::fs::write(&config, both).unwrap();
    let out = check(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "`connector \"skills-hub-sftp\".sftp.user`: `user` is the old name of `username`, which is also set"
        ),
        "{err}"
    );
}

#[test]
fn connector_errors_name_the_connector_by_id() {
    let (_dir, config) = uncommented_example();
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replacen("host = \"sftp.skillshub.example\"\n", "", 1).replacen(
        "schedule = \"0 7-18 * * 1-5\"",
        "schedule = \"0 0 7-18 * * 1-5\"",
        1,
    );
    std::fs::write(&config, text).unwrap();
    let err = String::from_utf8_lossy(&check(&config).stderr).to_string();
    assert!(
        err.contains("`connector \"skills-hub-sftp\".sftp.host`: missing"),
        "{err}"
    );
    assert!(err.contains("`connector \"northstar-api\".schedule`"), "{err}");
    assert!(err.contains("exactly 5"), "{err}");
    assert!(!err.contains("connector["), "{err}");
}

/// `scripts/package` builds the .deb (here around the test build's binary): its file list is the
/// one the README describes, every man page the main one refers to is in it, and
/// `systemd-analyze verify` accepts the unit it installs (skipped, saying so, without
/// systemd-analyze or dpkg-deb).
#[test]
fn the_package_builds_with_the_files_it_should_and_a_unit_systemd_accepts() {
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("dpkg-deb") {
        eprintln!("SKIPPED: dpkg-deb is not installed, so the package cannot be built here");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let built = Command::new(root.join("scripts/package"))
        .env("APSYNC_BINARY", env!("CARGO_BIN_EXE_apsync"))
        .env("APSYNC_PACKAGE_DIR", out.path())
        .env("APSYNC_DEB_COMPRESSION", "none")
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let deb = PathBuf::from(String::from_utf8(built.stdout).unwrap().trim());
    let listing = Command::new("dpkg-deb").arg("-c").arg(&deb).output().unwrap();
    let files: Vec<String> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .nth(5)
                .map(|f| f.trim_start_matches('.').to_string())
        })
        .collect();
    for want in [
        "/usr/bin/apsync",
        "/lib/systemd/system/apsync.service",
        "/lib/systemd/system/apsync@.service",
        "/usr/lib/sysusers.d/apsync.conf",
        "/usr/lib/tmpfiles.d/apsync.conf",
        "/etc/apsync/apsync.toml.example",
        "/etc/apsync/formats/northstar.toml",
        "/usr/share/doc/apsync/README.md",
        "/usr/share/doc/apsync/mailboxes.md",
        "/usr/share/man/man1/apsync.1.gz",
        "/usr/share/man/man1/apsync-sync.1.gz",
        "/usr/share/man/man1/apsync-review-resolve.1.gz",
    ] {
        assert!(
            files.iter().any(|f| f == want),
            "{want} missing from the package: {files:?}"
        );
    }
    let man = std::fs::read_to_string(root.join("docs/apsync.1")).unwrap();
    for word in man.split_whitespace() {
        if let Some(page) = word.strip_suffix("(1)").filter(|w| w.starts_with("apsync\\-")) {
            let file = format!("/usr/share/man/man1/{}.1.gz", page.replace("\\-", "-"));
            assert!(
                files.contains(&file),
                "apsync(1) refers to {page}(1), not in the package"
            );
        }
    }
    let tree = tempfile::tempdir().unwrap();
    let unpacked = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(tree.path())
        .status()
        .unwrap();
    assert!(unpacked.success());
    if !have("systemd-analyze") {
        eprintln!("SKIPPED: systemd-analyze is not installed, so the unit is not verified");
        return;
    }
    // Verified on this host (its targets and /bin/kill), with the unit's /usr/bin/apsync pointed
    // at the binary the package holds, which is not installed here.
    // The templated unit is verified as an instance (a template alone is not a unit).
    for (installed, instance) in [
        ("apsync.service", "apsync.service"),
        ("apsync@.service", "apsync@oak-academy.service"),
    ] {
        let unit = std::fs::read_to_string(tree.path().join("lib/systemd/system").join(installed)).unwrap();
        let binary = tree.path().join("usr/bin/apsync");
        let copy = tree.path().join(instance);
        std::fs::write(&copy, unit.replace("/usr/bin/apsync", binary.to_str().unwrap())).unwrap();
        let verify = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&copy)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&verify.stderr);
        assert!(
            verify.status.success(),
            "systemd-analyze verify refused {installed}: {said}"
        );
    }
}
