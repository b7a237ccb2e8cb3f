//! A capturing SMTP server for tests: aiosmtpd (Debian's `/usr/bin/python3` with `python3-aiosmtpd`)
//! with STARTTLS required and AUTH, on a free loopback port, its certificate self-signed with
//! `openssl req` for `localhost`. Each accepted message lands in `out/<n>.eml` with `out/<n>.json`
//! (envelope, authenticated user, TLS). The server is a child process stopped when dropped;
//! restarting on the same port and folder keeps the captured messages and numbering, so a test
//! can take it down and bring it back. `stall_after` makes it accept that many messages and then
//! hang on the next DATA without answering, to stop a sender mid-send; it then leaves `out/stalled`
//! ([`SmtpServer::stalled`]), so a test can wait for that moment instead of guessing it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The capture script (test-servers.md section 3, plus `--stall-after` and numbering that carries on
/// across restarts).
const SCRIPT: &str = r#"
import argparse, asyncio, glob, json, os, signal, ssl, itertools
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
p = argparse.ArgumentParser()
p.add_argument('--port', type=int, required=True); p.add_argument('--out', required=True)
p.add_argument('--user'); p.add_argument('--password'); p.add_argument('--cert'); p.add_argument('--key')
p.add_argument('--stall-after', type=int, default=-1)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
seq = itertools.count(len(glob.glob(os.path.join(a.out, '*.eml'))) + 1)
accepted = [0]
class Capture:
    async def handle_DATA(self, server, session, envelope):
        if a.stall_after >= 0 and accepted[0] >= a.stall_after:
            open(os.path.join(a.out, 'stalled'), 'w').close()
            await asyncio.sleep(3600)
        accepted[0] += 1
        n = next(seq)
        meta = {'mail_from': envelope.mail_from, 'rcpt_tos': envelope.rcpt_tos,
                'auth_user': session.auth_data if session.authenticated else None,
                'tls': session.ssl is not None}
        for name, data in ((f'{n}.eml', envelope.original_content or envelope.content),
                           (f'{n}.json', json.dumps(meta).encode())):
            tmp = os.path.join(a.out, '.' + name)
            with open(tmp, 'wb') as f: f.write(data)
            os.rename(tmp, os.path.join(a.out, name))
        return '250 OK captured %d' % n
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user \
         and auth_data.password.decode() == a.password
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)
tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); tls.load_cert_chain(a.cert, a.key)
def factory():
    return SMTP(Capture(), hostname='smtp.test', decode_data=False, enable_SMTPUTF8=True,
                authenticator=authenticator, auth_required=True, auth_require_tls=True,
                tls_context=tls, require_starttls=True)
async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(factory, '127.0.0.1', a.port)
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT): loop.add_signal_handler(s, stop.set_result, None)
    print('READY', a.port, flush=True)
    await stop; srv.close()
asyncio.run(main())
"#;

/// The login the server accepts.
pub const USER: &str = "mailer";
/// Its password.
pub const PASSWORD: &str = "mailer-pw";

/// A running (or stopped) capture server with its folder.
pub struct SmtpServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// One captured message.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Envelope and session: `mail_from`, `rcpt_tos`, `auth_user`, `tls`.
    pub meta: serde_json::Value,
    /// The raw message.
    pub raw: String,
}

impl Captured {
    /// The envelope recipients.
    pub fn recipients(&self) -> Vec<String> {
        self.meta["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// The Subject header, unfolded, with RFC 2047 `=?utf-8?b?...?=` words decoded.
    pub fn subject(&self) -> String {
        let head = self
            .raw
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .replace("\r\n ", " ");
        let raw = head
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default();
        let mut out = String::new();
        let mut rest = raw;
        while let Some(start) = rest.find("=?utf-8?b?") {
            out.push_str(&rest[..start]);
            let word = &rest[start + 10..];
            let end = word.find("?=").unwrap();
            out.push_str(&String::from_utf8(base64_decode(&word[..end])).unwrap());
            rest = &word[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    /// Makes the folder and certificate and starts the server.
    pub fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("capture.py"), SCRIPT).unwrap();
        let status = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
            ])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stderr(Stdio::null())
            .status()
            .expect("openssl is needed to make the test server's certificate");
        assert!(status.success(), "openssl req failed");
        let mut server = SmtpServer {
            dir,
            port: free_port(),
            child: None,
        };
        server.restart(None);
        server
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The certificate clients must trust.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// Starts it again on the same port and folder (after [`SmtpServer::stop`]).
    pub fn restart(&mut self, stall_after: Option<u32>) {
        self.stop();
        match std::fs::remove_file(self.stalled_marker()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("removing the stall marker: {e}"),
            _ => {}
        }
        let p = self.dir.path();
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(p.join("capture.py"))
            .args(["--port", &self.port.to_string(), "--user", USER, "--password", PASSWORD])
            .arg("--out")
            .arg(self.out())
            .arg("--cert")
            .arg(p.join("cert.pem"))
            .arg("--key")
            .arg(p.join("key.pem"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(n) = stall_after {
            cmd.args(["--stall-after", &n.to_string()]);
        }
        let mut child = cmd
            .spawn()
            .expect("/usr/bin/python3 with aiosmtpd (apt install python3-aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("READY"),
            "the SMTP capture server did not start: {line:?}"
        );
        self.child = Some(child);
    }

    /// Stops it (SIGTERM by its PID, then waits). Captured messages stay.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    fn stalled_marker(&self) -> PathBuf {
        self.out().join("stalled")
    }

    /// Whether the server (restarted with `stall_after`) has received the whole DATA of the message
    /// past its limit and holds it unanswered: the sender is waiting inside that send.
    pub fn stalled(&self) -> bool {
        self.stalled_marker().exists()
    }

    /// Every captured message, in the order accepted.
    pub fn messages(&self) -> Vec<Captured> {
        let mut n = 1;
        let mut out = Vec::new();
        // The sink renames `n.eml` into place, then `n.json`: a message is whole once its
        // `.json` is there.
        while self.out().join(format!("{n}.json")).exists() {
            let raw = std::fs::read_to_string(self.out().join(format!("{n}.eml"))).unwrap();
            let meta =
                serde_json::from_str(&std::fs::read_to_string(self.out().join(format!("{n}.json"))).unwrap()).unwrap();
            out.push(Captured { meta, raw });
            n += 1;
        }
        out
    }

    /// Writes the `[email]` section pointing at this server into a configuration file's text,
    /// replacing the example's file transport; the password goes in a file next to it.
    pub fn configure(&self, config: &Path, password: &str) {
        let dir = config.parent().unwrap();
        std::fs::write(dir.join("smtp-password"), format!("{password}\n")).unwrap();
        std::fs::copy(self.cert(), dir.join("smtp-ca.pem")).unwrap();
        let text = std::fs::read_to_string(config).unwrap().replace(
            "\ntransport = \"file\"\n",
            &format!(
                "\ntransport = \"smtp\"\nhost = \"localhost\"\nport = {}\ntls = \"starttls\"\nca_file = \"smtp-ca.pem\"\n\
                 username = \"{USER}\"\npassword_file = \"smtp-password\"\ntimeout_seconds = 20\n",
                self.port
            ),
        );
        assert!(
            text.contains("\ntransport = \"smtp\"\n"),
            "the example configuration's [email] section changed"
        );
        std::fs::write(config, text).unwrap();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}
