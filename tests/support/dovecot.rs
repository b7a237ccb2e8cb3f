//! A real Dovecot on loopback (`shared/reference/test-servers.md`, section 2): its own temp dir,
//! a passwd-file user, Maildir, a self-signed CA:FALSE certificate with a SAN for 127.0.0.1,
//! STARTTLS on one port and implicit TLS on another. Messages are delivered with `doveadm save`
//! (Dovecot's own delivery into the store, in order); flags set the way a mail client would.
//! Stopped by its PID on drop.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::postgres::free_port;

/// The mailbox account.
pub const USER: &str = "returns@school.test";
/// Its password.
pub const PASSWORD: &str = "returnspw";

/// A running Dovecot.
pub struct Dovecot {
    /// Config, certificate, mail and logs.
    pub dir: tempfile::TempDir,
    /// STARTTLS (and plaintext) port.
    pub port: u16,
    /// Implicit TLS port.
    pub tls_port: u16,
    child: Option<Child>,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Dovecot {
    /// Starts a fresh server with an empty INBOX.
    pub fn start() -> Dovecot {
        Dovecot::start_with(None)
    }

    /// [`Dovecot::start`], also taking XOAUTH2 logins whose bearer token it checks by POSTing it
    /// to `introspection_url` (RFC 7662: `{"active": true, "username": ...}`), as a mail server
    /// checks a token from its identity provider.
    pub fn start_with_oauth2(introspection_url: &str) -> Dovecot {
        Dovecot::start_with(Some(introspection_url))
    }

    fn start_with(introspection_url: Option<&str>) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        run(Command::new("chmod").arg("755").arg(t));
        for d in ["run", "state", "mail"] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
        run(Command::new("chown").args(["nobody:nogroup"]).arg(t.join("mail")));
        std::fs::write(t.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n")).unwrap();
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ])
            .args(["-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(t.join("key.pem"))
            .arg("-out")
            .arg(t.join("cert.pem")));
        let (port, tls_port) = (free_port().unwrap(), free_port().unwrap());
        let (mechanisms, oauth2_passdb) = match introspection_url {
            None => ("plain login", String::new()),
            Some(url) => {
                std::fs::write(
                    t.join("oauth2.conf.ext"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\nforce_introspection = yes\n\
                         username_attribute = username\nactive_attribute = active\nactive_value = true\n"
                    ),
                )
                .unwrap();
                (
                    "plain login xoauth2",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {}/oauth2.conf.ext\n}}\n",
                        t.display()
                    ),
                )
            }
        };
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::write(
            t.join("dovecot.conf"),
            format!(
                "base_dir = {t}/run\nstate_dir = {t}/state\ninstance_name = imap-test-{name}\nlog_path = {t}/dovecot.log\n\
                 protocols = imap\nlisten = 127.0.0.1\nssl = yes\nssl_cert = <{t}/cert.pem\nssl_key = <{t}/key.pem\n\
                 ssl_min_protocol = TLSv1.2\nauth_mechanisms = {mechanisms}\ndisable_plaintext_auth = no\nauth_failure_delay = 0\n\
                 mail_location = maildir:~/Maildir\nfirst_valid_uid = 1\n{oauth2_passdb}\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {t}/users\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={t}/mail/%u\n}}\n\
                 service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
                 inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n    ssl = yes\n  }}\n}}\n\
                 service anvil {{\n  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n",
                t = t.display()
            ),
        )
        .unwrap();
        let mut dovecot = Dovecot {
            dir,
            port,
            tls_port,
            child: None,
        };
        dovecot.launch();
        dovecot
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    fn launch(&mut self) {
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(self.conf())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        // Ready when imap-login sends its greeting (auth is up by then).
        for _ in 0..500 {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut buf = [0u8; 64];
                if s.read(&mut buf).is_ok_and(|n| buf[..n].starts_with(b"* OK")) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("dovecot did not greet: {}", self.log());
    }

    /// Stops the server by its PID and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Stops and starts it again, mail kept.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The CA file to trust (the self-signed certificate itself).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn doveadm(&self) -> Command {
        let mut cmd = Command::new("doveadm");
        cmd.arg("-c").arg(self.conf());
        cmd
    }

    /// Delivers a raw message into a mailbox of the user.
    pub fn deliver(&self, mailbox: &str, raw: &[u8]) {
        use std::io::Write;
        let mut child = self
            .doveadm()
            .args(["save", "-u", USER, "-m", mailbox])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(raw).unwrap();
        assert!(child.wait().unwrap().success(), "doveadm save failed");
    }

    /// Creates a mailbox (folder) for the user.
    pub fn create_mailbox(&self, mailbox: &str) {
        run(self.doveadm().args(["mailbox", "create", "-u", USER, mailbox]));
    }

    /// Adds a flag to every message in a mailbox, as a person reading it would (`\Seen`).
    pub fn flag_all(&self, mailbox: &str, flag: &str) {
        run(self
            .doveadm()
            .args(["flags", "add", "-u", USER, flag, "mailbox", mailbox, "ALL"]));
    }

    /// The flags of each message in a mailbox, in UID order.
    pub fn flags(&self, mailbox: &str) -> Vec<String> {
        run(self
            .doveadm()
            .args(["-f", "flow", "fetch", "-u", USER, "flags", "mailbox", mailbox, "ALL"]))
        .lines()
        .map(|l| l.trim_start_matches("flags=").to_string())
        .collect()
    }

    /// How many messages a mailbox holds.
    pub fn count(&self, mailbox: &str) -> usize {
        run(self
            .doveadm()
            .args(["-f", "flow", "fetch", "-u", USER, "uid", "mailbox", mailbox, "ALL"]))
        .lines()
        .count()
    }

    /// Gives a mailbox a new UIDVALIDITY, as a server rebuild or migration does.
    pub fn change_uidvalidity(&self, mailbox: &str, value: u32) {
        run(self.doveadm().args([
            "mailbox",
            "update",
            "-u",
            USER,
            "--uid-validity",
            &value.to_string(),
            mailbox,
        ]));
    }

    /// The `[connector.imap]` table for STARTTLS with password login, trusting the verdicts of
    /// [`AUTHSERV_ID`] unless `extra` sets `authentication`; `extra` lines appended.
    pub fn connector_toml(&self, password_file: &str, extra: &str) -> String {
        let trusted = if extra.contains("authentication") || extra.contains("trusted_authserv_ids") {
            String::new()
        } else {
            format!("trusted_authserv_ids = [\"{AUTHSERV_ID}\"]\n")
        };
        format!(
            "[connector.imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nca_file = \"{}\"\nusername = \"{USER}\"\n\
             password_file = \"{password_file}\"\ntimeout_seconds = 10\n{trusted}{extra}\n",
            self.port,
            self.ca_file().display()
        )
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The school's receiving mail system, as it names itself in its `Authentication-Results`.
pub const AUTHSERV_ID: &str = "mx.school.test";

/// The verdict the school's mail system adds on top of a genuine message from `from`.
pub fn passing_verdict(from: &str) -> String {
    let address = from.rsplit('<').next().unwrap_or(from).trim_end_matches('>');
    let domain = address.rsplit('@').next().unwrap_or(address);
    format!(
        "{AUTHSERV_ID}; spf=pass smtp.mailfrom={domain}; dkim=pass header.d={domain} header.s=s1; dmarc=pass header.from={domain}"
    )
}

/// A MIME message from `from` with the attachments given as (file name, media type, bytes),
/// nested one level down in a multipart/alternative + multipart/mixed tree as mail programs
/// build them, as the school's mail system delivers it: with its passing verdict on top. A name
/// that is not plain ASCII is written the RFC 2231 way in Windows-1252.
pub fn message(from: &str, subject: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let verdict = passing_verdict(from);
    message_with(
        &[&format!("Authentication-Results: {verdict}")],
        from,
        subject,
        attachments,
    )
}

/// [`message`] with these header lines on top instead of the passing verdict (none, a failing
/// verdict, a second `From:`...).
pub fn message_with(top: &[&str], from: &str, subject: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m: String = top.iter().map(|h| format!("{h}\r\n")).collect();
    m.push_str(&format!(
        "From: {from}\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: <{}@test>\r\nDate: Mon, 2 Mar 2026 17:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
         --outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nToday's register attached.\r\n--alt--\r\n",
        subject.replace([' ', '\r', '\n', '='], ".")
    ));
    for (name, media_type, bytes) in attachments {
        let disposition = if name.is_ascii() {
            format!("attachment; filename=\"{name}\"")
        } else {
            let encoded: String = name
                .chars()
                .map(|c| match c {
                    'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c.to_string(),
                    // Windows-1252 agrees with Latin-1 for the accented letters used here.
                    _ => format!("%{:02X}", u32::from(c)),
                })
                .collect();
            format!("attachment; filename*=windows-1252''{encoded}")
        };
        m.push_str(&format!(
            "--outer\r\nContent-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: {media_type}\r\n\
             Content-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--inner--\r\n",
            base64(bytes)
        ));
    }
    m.push_str("--outer--\r\n");
    m.into_bytes()
}

/// Standard base64 in 76-character lines.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.as_bytes()
        .chunks(76)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}
