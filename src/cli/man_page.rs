//! The man page (`docs/apsync.1`, installed by the Debian package) is made from the command line's
//! own definition, so it cannot drift from `apsync --help`: this test fails when it is stale.
//! `APSYNC_BLESS=1 cargo test man_page` writes it anew.

#![allow(clippy::unwrap_used, clippy::panic)]

use clap::CommandFactory as _;

#[test]
fn the_man_page_matches_the_command_line() {
    let mut page = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut page).unwrap();
    let mut text = String::from_utf8(page).unwrap();
    text.push_str(
        ".SH EXIT STATUS\n0 \\- done; for import and sync, every row became a mark or was held already\n.br\n1 \\- the command failed: a connector failed, a file could not be read, the database or a delivery failed\n.br\n2 \\- the command line or the configuration is wrong\n.br\n3 \\- import and sync: done, but some rows wait for a person (apsync review list)\n.SH FILES\n/etc/apsync/apsync.toml \\- the configuration (see apsync.toml.example beside it)\n.br\n/etc/apsync/formats/ \\- provider formats\n.br\n/var/lib/apsync/apsync.db \\- the register (SQLite)\n.SH SEE ALSO\n/usr/share/doc/apsync/README.md\n",
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/apsync.1");
    if std::env::var_os("APSYNC_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        panic!("docs/apsync.1 is stale: run `APSYNC_BLESS=1 cargo test man_page` and commit it");
    }
}
