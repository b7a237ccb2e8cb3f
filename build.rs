//! Embeds the sample returns and provider formats in the binary, for `apsync demo`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::from("/// (provider, file name, bytes) of every bundled sample return, in name order.\n");
    code.push_str("pub const SAMPLE_RETURNS: &[(&str, &str, &[u8])] = &[\n");
    let returns = root.join("samples/returns");
    println!("cargo::rerun-if-changed={}", returns.display());
    for (provider, files) in listing(&returns) {
        for file in files {
            let path = returns.join(&provider).join(&file);
            let _ = writeln!(
                code,
                "    ({provider:?}, {file:?}, include_bytes!({:?})),",
                path.display().to_string()
            );
        }
    }
    code.push_str("];\n\n/// (file name, text) of every example provider format.\n");
    code.push_str("pub const FORMATS: &[(&str, &str)] = &[\n");
    let formats = root.join("config/formats");
    println!("cargo::rerun-if-changed={}", formats.display());
    for file in names(&formats) {
        let path = formats.join(&file);
        let _ = writeln!(code, "    ({file:?}, include_str!({:?})),", path.display().to_string());
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("bundled.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::error=cannot write {}: {e}", out.display());
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn listing(dir: &Path) -> Vec<(String, Vec<String>)> {
    names(dir)
        .into_iter()
        .map(|p| (p.clone(), names(&dir.join(&p))))
        .collect()
}
