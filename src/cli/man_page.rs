//! The man pages (`docs/apsync.1` and, for each command it lists, `docs/man/apsync-*.1`, installed
//! by the Debian package) are made from the command line's own definition, so they cannot drift
//! from `apsync --help`: this test fails when one is stale. `APSYNC_BLESS=1 cargo test --lib
//! man_page` writes them anew.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

/// What `apsync(1)` says beyond the command line: exit status, files, where to read more.
const EXTRA: &str = ".SH EXIT STATUS\n0 \\- done; for import and sync, every row became a mark or was held already\n.br\n1 \\- the command failed: a connector failed, a file could not be read, the database or a delivery failed\n.br\n2 \\- the command line or the configuration is wrong\n.br\n3 \\- import and sync: done, but some rows wait for a person (apsync review list)\n.SH FILES\n/etc/apsync/apsync.toml \\- the configuration (see apsync.toml.example beside it)\n.br\n/etc/apsync/formats/ \\- provider formats\n.br\n/var/lib/apsync/apsync.db \\- the register (SQLite)\n.SH SEE ALSO\n/usr/share/doc/apsync/README.md\n";

/// Every page, by file name under docs/: `apsync.1` and `man/apsync-COMMAND[-SUB].1`, one for
/// each page another refers to.
fn pages() -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    use clap::CommandFactory as _;
    // The pages document the commands, not clap's `help` pseudo-command at every level.
    let cmd = super::finish(without_help_commands(super::Cli::command()));
    clap_mangen::generate_to(cmd, dir.path()).unwrap();
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if name == "apsync.1" {
            text.push_str(EXTRA);
            out.insert(name, text);
        } else {
            out.insert(format!("man/{name}"), text);
        }
    }
    out
}

fn without_help_commands(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    names.iter().fold(cmd.disable_help_subcommand(true), |cmd, name| {
        cmd.mut_subcommand(name, without_help_commands)
    })
}

#[test]
fn the_man_pages_match_the_command_line() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let pages = pages();
    if std::env::var_os("APSYNC_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(docs.join("man"));
        std::fs::create_dir_all(docs.join("man")).unwrap();
        for (name, text) in &pages {
            std::fs::write(docs.join(name), text).unwrap();
        }
    }
    let stale = || {
        panic!("docs/apsync.1 or docs/man/ is stale: run `APSYNC_BLESS=1 cargo test --lib man_page` and commit them")
    };
    for (name, text) in &pages {
        if std::fs::read_to_string(docs.join(name)).unwrap_or_default() != *text {
            stale();
        }
    }
    let committed = std::fs::read_dir(docs.join("man")).map_or(0, Iterator::count);
    if committed != pages.len() - 1 {
        stale();
    }
}

#[test]
fn every_page_referred_to_exists() {
    let pages = pages();
    for text in pages.values() {
        for word in text.split_whitespace() {
            if let Some(name) = word.strip_suffix("(1)").filter(|n| n.starts_with("apsync\\-")) {
                let file = format!("man/{}.1", name.replace("\\-", "-"));
                assert!(
                    pages.contains_key(&file),
                    "{name}(1) is referred to but {file} is not made"
                );
            }
        }
    }
}

#[test]
fn demo_help_has_no_config_option() {
    let mut cmd = super::command();
    let demo = cmd.find_subcommand_mut("demo").unwrap();
    let help = demo.render_long_help().to_string();
    assert!(!help.contains("--config"), "{help}");
    assert!(help.contains("--dir"), "{help}");
}
