//! What the installed systemd unit lets the service write. Under `ProtectSystem=strict` the whole
//! file system is read-only to apsync except the folders the unit names, so a folder connector
//! whose folder is not among them can read returns but never move them: `check` warns before
//! that happens.

use std::path::{Path, PathBuf};

/// Where the unit is looked for, first found wins (an administrator's copy before the package's).
const UNIT_FILES: &[&str] = &[
    "/etc/systemd/system/apsync.service",
    "/lib/systemd/system/apsync.service",
    "/usr/lib/systemd/system/apsync.service",
];

/// Where drop-ins (`systemctl edit apsync`) live, in `NAME.service.d/`; applied after the unit.
const DROP_IN_PARENT: &str = "/etc/systemd/system";

/// The unit's file and text with its drop-ins appended: `APSYNC_UNIT` when set (to check a unit
/// before installing it), else the installed one; None when there is none.
pub fn installed_unit() -> Option<(PathBuf, String)> {
    let path = match std::env::var_os("APSYNC_UNIT") {
        Some(p) => PathBuf::from(p),
        None => UNIT_FILES.iter().map(PathBuf::from).find(|p| p.is_file())?,
    };
    let mut text = std::fs::read_to_string(&path).ok()?;
    let drop_ins = path
        .file_name()
        .map(|name| Path::new(DROP_IN_PARENT).join(format!("{}.d", name.to_string_lossy())));
    if let Some(dir) = drop_ins
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        files.sort();
        for f in files {
            if let Ok(more) = std::fs::read_to_string(&f) {
                text.push('\n');
                text.push_str(&more);
            }
        }
    }
    Some((path, text))
}

/// The folders a unit's service may write, or None when the unit leaves the file system
/// writable (no `ProtectSystem=strict`). `/tmp` is not among them: under `PrivateTmp=` the
/// service's `/tmp` is its own, not the folder a provider's files were dropped in. Later settings win, and an empty `ReadWritePaths=`
/// clears the list, as systemd reads them.
pub fn writable_paths(unit: &str) -> Option<Vec<PathBuf>> {
    let mut strict = false;
    let mut paths = Vec::new();
    let mut in_service = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
            continue;
        }
        let Some((key, value)) = line.split_once('=').filter(|_| in_service && !line.starts_with('#')) else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let under = |base: &'static str| value.split_whitespace().map(move |d| Path::new(base).join(d));
        match key {
            "ProtectSystem" => strict = value == "strict",
            "ReadWritePaths" if value.is_empty() => paths.clear(),
            "ReadWritePaths" => paths.extend(
                value
                    .split_whitespace()
                    .map(|p| PathBuf::from(p.trim_start_matches(['-', '+']))),
            ),
            "StateDirectory" => paths.extend(under("/var/lib")),
            "CacheDirectory" => paths.extend(under("/var/cache")),
            "LogsDirectory" => paths.extend(under("/var/log")),
            "RuntimeDirectory" => paths.extend(under("/run")),
            _ => {}
        }
    }
    strict.then_some(paths)
}

/// The unit's `LoadCredential=NAME:PATH` settings in `[Service]`, as (NAME, PATH).
pub fn credentials(unit: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut in_service = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
            continue;
        }
        if !in_service || line.starts_with('#') {
            continue;
        }
        if let Some(("LoadCredential", value)) = line.split_once('=').map(|(k, v)| (k.trim(), v.trim()))
            && let Some((name, path)) = value.split_once(':')
        {
            out.push((name.to_string(), PathBuf::from(path)));
        }
    }
    out
}

/// Whether `folder` is inside one of `writable`.
pub fn is_writable(folder: &Path, writable: &[PathBuf]) -> bool {
    writable.iter().any(|w| folder.starts_with(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_unit_writes_only_its_state_folder() {
        let unit = include_str!("../../systemd/apsync.service");
        let paths = writable_paths(unit).unwrap();
        assert_eq!(paths, [PathBuf::from("/var/lib/apsync")]);
        assert!(!is_writable(Path::new("/tmp/drop"), &paths), "its /tmp is private");
        assert!(!is_writable(Path::new("/srv/ap-returns"), &paths));
        assert!(is_writable(Path::new("/var/lib/apsync/inbox"), &paths));
    }

    #[test]
    fn load_credentials_are_read_from_the_service_section_only() {
        let unit = "[Service]\nLoadCredential=key:/etc/apsync/secrets/key\n#LoadCredential=no:/x\n[Install]\nLoadCredential=neither:/y\n";
        assert_eq!(
            credentials(unit),
            [("key".to_string(), PathBuf::from("/etc/apsync/secrets/key"))]
        );
    }

    #[test]
    fn read_write_paths_add_up_an_empty_one_clears_and_other_sections_do_not_count() {
        let unit = "[Unit]\nReadWritePaths=/nope\n[Service]\nProtectSystem=strict\nReadWritePaths=/old\n\
                    ReadWritePaths=\nReadWritePaths=-/srv/ap-returns +/srv/forms\n# ReadWritePaths=/commented\n";
        let paths = writable_paths(unit).unwrap();
        assert_eq!(paths, [PathBuf::from("/srv/ap-returns"), "/srv/forms".into()]);
        assert_eq!(
            writable_paths("[Service]\nProtectSystem=full\n"),
            None,
            "not strict: all writable"
        );
    }
}
