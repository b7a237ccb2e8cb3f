//! A real OpenSSH sshd on loopback (recipe A of `shared/reference/test-servers.md`): run as root,
//! `internal-sftp` only, a temp dir of its own, host and client ed25519 keys made with
//! ssh-keygen, key login for user `sftptest` (plain and passphrase-protected keys) and password
//! login. Stopped by its PID on drop; `restart` stops and starts it on the same port and keys.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, SystemTime};

use super::postgres::free_port;

/// The login the server accepts.
pub const USER: &str = "sftptest";
/// Its password.
pub const PASSWORD: &str = "s3cret-pw";
/// The passphrase of the protected client key.
pub const PASSPHRASE: &str = "key-passphrase";

/// A running sshd.
pub struct Sshd {
    /// Everything lives here: config, keys, log, and `data/` (the files served).
    pub dir: tempfile::TempDir,
    /// The port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

/// Creates the system user once per test process (idempotent across processes).
fn ensure_user() {
    static USER_ONCE: Once = Once::new();
    USER_ONCE.call_once(|| {
        std::fs::create_dir_all("/run/sshd").unwrap();
        let exists = Command::new("id").arg(USER).output().unwrap().status.success();
        if !exists {
            // Another test binary may win the race; check again rather than trusting the status.
            let _ = Command::new("useradd")
                .args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
                .args(["--shell", "/usr/sbin/nologin", USER])
                .status();
        }
        let mut chpasswd = Command::new("chpasswd").stdin(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        chpasswd
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{USER}:{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
    });
}

fn keygen(path: &Path, passphrase: &str) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen failed");
}

/// Waits until something accepts connections on the port.
pub fn wait_for_port(port: u16) {
    for _ in 0..500 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("nothing listens on port {port}");
}

impl Sshd {
    /// Starts a fresh server with an empty `data/outgoing` folder.
    pub fn start() -> Sshd {
        ensure_user();
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        chmod(t, 0o755);
        keygen(&t.join("host_ed25519"), "");
        keygen(&t.join("client_ed25519"), "");
        keygen(&t.join("client_protected"), PASSPHRASE);
        let mut keys = std::fs::read_to_string(t.join("client_ed25519.pub")).unwrap();
        keys.push_str(&std::fs::read_to_string(t.join("client_protected.pub")).unwrap());
        std::fs::write(t.join("authorized_keys"), keys).unwrap();
        std::fs::create_dir_all(t.join("data/outgoing")).unwrap();
        let port = free_port().unwrap();
        std::fs::write(
            t.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {t}/host_ed25519\nPidFile {t}/sshd.pid\n\
                 AuthorizedKeysFile {t}/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\nSubsystem sftp internal-sftp\nForceCommand internal-sftp -d {t}/data\n\
                 MaxStartups 100\n",
                t = t.display()
            ),
        )
        .unwrap();
        let mut sshd = Sshd { dir, port, child: None };
        sshd.chown_data();
        sshd.launch();
        sshd
    }

    fn launch(&mut self) {
        let t = self.dir.path();
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(t.join("sshd_config"))
            .arg("-E")
            .arg(t.join("sshd.log"))
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_for_port(self.port);
    }

    /// Stops the server (by its PID) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Stops and starts the server on the same port with the same keys and files.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// The server's host key line, as IT would pin it.
    pub fn host_key(&self) -> String {
        let line = std::fs::read_to_string(self.dir.path().join("host_ed25519.pub")).unwrap();
        line.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    }

    /// The unprotected client private key file.
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_ed25519")
    }

    /// The passphrase-protected client private key file.
    pub fn protected_key(&self) -> PathBuf {
        self.dir.path().join("client_protected")
    }

    /// The remote folder the connector reads (an absolute path, as sshd runs without a chroot).
    pub fn outgoing(&self) -> PathBuf {
        self.dir.path().join("data/outgoing")
    }

    /// Puts a file in `outgoing`, last modified `age` ago, owned by the SFTP user. It appears
    /// whole, aged and owned at once (written aside, then renamed), so a connector listing the
    /// folder meanwhile (a daemon running) never sees it half made.
    pub fn put(&self, name: &str, bytes: &[u8], age: Duration) {
        let aside = self.outgoing().join(format!(".{name}.part"));
        std::fs::write(&aside, bytes).unwrap();
        set_age(&aside, age);
        self.chown_data();
        std::fs::rename(&aside, self.outgoing().join(name)).unwrap();
    }

    /// Hands `data/` to the SFTP user, so it may move and delete.
    pub fn chown_data(&self) {
        let ok = Command::new("chown")
            .args(["-R", USER])
            .arg(self.dir.path().join("data"))
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown failed");
    }

    /// The `[connector.sftp]` table for this server with key login; `extra` lines are appended.
    pub fn connector_toml(&self, extra: &str) -> String {
        format!(
            "[connector.sftp]\nhost = \"127.0.0.1\"\nport = {}\nusername = \"{USER}\"\nhost_key = \"{}\"\n\
             private_key_file = \"{}\"\npath = \"{}\"\nmin_age_seconds = 60\ntimeout_seconds = 10\n{extra}\n",
            self.port,
            self.host_key(),
            self.client_key().display(),
            self.outgoing().display()
        )
    }
}

/// Sets a file's modification time to `age` ago.
pub fn set_age(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
