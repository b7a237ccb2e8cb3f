//! The `apsync` executable: everything lives in the library; see `apsync --help`.

fn main() -> std::process::ExitCode {
    apsync::cli::main()
}
