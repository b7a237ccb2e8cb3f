//! The SMTP sender: delivers email rows of the outbox with lettre over STARTTLS (on a socket of
//! its own, without Nagle's algorithm: see `Direct`) or implicit TLS, certificates verified,
//! logging in with a password or XOAUTH2. The server's reply decides the outcome: 250 delivered;
//! 4xx or no answer, retry; 5xx, dead with the server's words; refused credentials or a
//! certificate that does not verify, retry slowly and tell IT.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Attempt, Sink};
use crate::config::{SmtpConfig, TlsMode};
use crate::store::{Channel, Delivery, NewDelivery};

/// The sink name of email rows in the outbox (one sink sends all email, SMTP or the file transport).
pub const SINK: &str = "smtp";

impl From<apsync_core::email::Email> for NewDelivery {
    fn from(email: apsync_core::email::Email) -> NewDelivery {
        NewDelivery {
            channel: Channel::Email,
            sink: SINK.to_string(),
            payload: email.payload(),
            idempotency_key: email.idempotency_key,
            subject: email.subject,
        }
    }
}

/// Sends email rows to an SMTP server.
pub struct SmtpSink {
    via: Via,
}

/// How messages reach the server.
enum Via {
    /// STARTTLS or plaintext: on a socket of apsync's own, without Nagle's algorithm (see
    /// `Direct`).
    Direct(Box<Direct>),
    /// Implicit TLS (port 465): lettre's transport, which owns its socket, so the kernel may hold
    /// a message's final `.` for up to ~40 ms (Nagle) and a sender killed meanwhile still has
    /// it sent when its socket closes.
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
}

/// One connection of apsync's own, reused while it answers. Its socket sends each write at once
/// (`TCP_NODELAY`): lettre writes the message, then its final `.` separately, and with Nagle's
/// algorithm the kernel holds that `.` until the server acknowledges the message, up to ~40 ms
/// with delayed ACKs. A sender killed in that time still has it sent (closing a socket flushes
/// it), so the server accepts a message whose sender never hears the 250: a repeat after the
/// restart. Without the hold, that window is about one round trip (plus any of the message
/// still queued on a slow link).
struct Direct {
    host: String,
    port: u16,
    timeout: Duration,
    starttls: Option<TlsParameters>,
    login: Option<(Credentials, Vec<Mechanism>)>,
    open: tokio::sync::Mutex<Option<AsyncSmtpConnection>>,
}

/// Why a message could not be handed over.
enum Failure {
    /// The server (or TLS with it) said no.
    Smtp(lettre::transport::smtp::Error),
    /// It could not be reached, or did not answer in time.
    Unreachable(String),
    /// It does not offer STARTTLS, which the configuration requires.
    NoStartTls,
}

impl Drop for Direct {
    /// Says goodbye on the open connection (QUIT), in the background: the messages are sent
    /// and recorded by now, and the server should not log a dropped session.
    fn drop(&mut self) {
        if let Some(mut conn) = self.open.get_mut().take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = conn.quit().await;
            });
        }
    }
}

impl Direct {
    /// Sends one message on the open connection, or on a new one when there is none or it no
    /// longer answers.
    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Response, Failure> {
        let mut open = self.open.lock().await;
        let reusable = match open.take() {
            Some(mut c) => c.test_connected().await.then_some(c),
            None => None,
        };
        let mut conn = match reusable {
            Some(c) => c,
            None => self.connect().await?,
        };
        let sent = conn.send(envelope, message).await.map_err(Failure::Smtp)?;
        // Kept only after a success: after a failure the session's state is unknown.
        *open = Some(conn);
        Ok(sent)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let unreachable =
            |e: std::io::Error| Failure::Unreachable(format!("cannot reach {}:{}: {e}", self.host, self.port));
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(unreachable)?;
        tcp.set_nodelay(true).map_err(unreachable)?;
        let hello = ClientId::default();
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
            .await
            .map_err(Failure::Smtp)?;
        if let Some(tls) = &self.starttls {
            if !conn.can_starttls() {
                return Err(Failure::NoStartTls);
            }
            conn.starttls(tls.clone(), &hello).await.map_err(Failure::Smtp)?;
        }
        if let Some((credentials, mechanisms)) = &self.login {
            conn.auth(mechanisms, credentials).await.map_err(Failure::Smtp)?;
        }
        Ok(conn)
    }
}

/// The sender could not be set up (a secret or CA file unreadable, a token refused).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

impl SmtpSink {
    /// Builds the transport, reading secrets and (for XOAUTH2) fetching a token now.
    pub async fn new(
        cfg: &SmtpConfig,
        credentials_dir: Option<&Path>,
        config_dir: &Path,
    ) -> Result<SmtpSink, SetupError> {
        let mut tls = TlsParameters::builder(cfg.host.clone());
        if let Some(ca) = &cfg.ca_file {
            let path = config_dir.join(ca);
            let pem = std::fs::read(&path)
                .map_err(|e| SetupError(format!("cannot read email.ca_file {}: {e}", path.display())))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                SetupError(format!(
                    "email.ca_file {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| SetupError(format!("cannot set up TLS for {}: {e}", cfg.host)))?;
        let login = match (&cfg.username, &cfg.oauth, &cfg.password_file) {
            (Some(user), Some(oauth), _) => {
                let token = super::oauth::fetch_token(oauth, credentials_dir, config_dir)
                    .await
                    .map_err(SetupError)?;
                Some((
                    Credentials::new(user.clone(), token.expose().to_string()),
                    vec![Mechanism::Xoauth2],
                ))
            }
            (Some(user), None, Some(file)) => {
                let password = file
                    .read(credentials_dir, config_dir)
                    .map_err(|e| SetupError(e.to_string()))?;
                Some((
                    Credentials::new(user.clone(), password.expose().to_string()),
                    vec![Mechanism::Plain, Mechanism::Login],
                ))
            }
            _ => None,
        };
        let via = match cfg.tls {
            TlsMode::Implicit => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
                    .port(cfg.port)
                    .timeout(Some(cfg.timeout))
                    .tls(Tls::Wrapper(tls));
                if let Some((credentials, mechanisms)) = login {
                    builder = builder.credentials(credentials).authentication(mechanisms);
                }
                Via::Lettre(builder.build())
            }
            TlsMode::StartTls | TlsMode::None => Via::Direct(Box::new(Direct {
                host: cfg.host.clone(),
                port: cfg.port,
                timeout: cfg.timeout,
                starttls: matches!(cfg.tls, TlsMode::StartTls).then_some(tls),
                login,
                open: tokio::sync::Mutex::new(None),
            })),
        };
        Ok(SmtpSink { via })
    }
}

impl SmtpSink {
    /// Connects, secures and logs in as a delivery would, then says goodbye, sending nothing
    /// (`check --online`). The error says what to do.
    pub async fn check(&self) -> Result<(), String> {
        let outcome = match &self.via {
            Via::Lettre(transport) => match transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Failure::Unreachable("the server did not answer NOOP".into())),
                Err(e) => Err(Failure::Smtp(e)),
            },
            Via::Direct(direct) => match tokio::time::timeout(direct.timeout, direct.connect()).await {
                Ok(Ok(mut conn)) => {
                    let _ = conn.quit().await;
                    Ok(())
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Failure::Unreachable(format!(
                    "the SMTP server did not answer within {} s",
                    direct.timeout.as_secs()
                ))),
            },
        };
        outcome.map_err(|failure| match failure {
            Failure::Smtp(e) => match classify(&e) {
                Attempt::Retry { reason, .. } | Attempt::Dead { reason } => reason,
                Attempt::Delivered { .. } => e.to_string(),
            },
            Failure::Unreachable(reason) => {
                format!("{reason}: check email.host and email.port, and that this machine may reach the mail server")
            }
            Failure::NoStartTls => "the SMTP server does not offer STARTTLS, which email.tls = \"starttls\" requires: check email.host and email.port".to_string(),
        })
    }
}

/// Why an outbox row cannot be sent as email: it was written wrong, so it never will be.
#[derive(Debug, thiserror::Error)]
enum BadRow {
    #[error("the row has no valid From address")]
    From,
    #[error("the row holds no message")]
    Message,
    #[error("{0}")]
    Envelope(#[from] lettre::error::Error),
}

/// Reads the outbox row into an envelope and the raw message.
fn parts(d: &Delivery) -> Result<(Envelope, &str), BadRow> {
    let p = &d.payload;
    let from: Address = p["from"]
        .as_str()
        .and_then(|f| f.parse::<lettre::message::Mailbox>().ok())
        .map(|m| m.email)
        .ok_or(BadRow::From)?;
    let to: Vec<Address> = p["to"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let message = p["message"].as_str().ok_or(BadRow::Message)?;
    let envelope = Envelope::new(Some(from), to)?;
    Ok((envelope, message))
}

/// What an SMTP failure means for the row.
pub(crate) fn classify(e: &lettre::transport::smtp::Error) -> Attempt {
    let code = e.status().map(|c| c.to_string());
    if matches!(code.as_deref(), Some("530" | "534" | "535" | "538")) {
        return Attempt::Retry {
            reason: format!(
                "the SMTP server refused apsync's credentials ({e}): check email.username and email.password_file \
                 (or [email.oauth2]); nothing can be sent until then"
            ),
            after: None,
            slow: true,
        };
    }
    if e.is_permanent() {
        return Attempt::Dead {
            reason: format!("the SMTP server refused the message: {e}"),
        };
    }
    if e.is_tls() {
        return Attempt::Retry {
            reason: format!(
                "TLS with the SMTP server failed ({e}): check email.host matches its certificate, or email.ca_file"
            ),
            after: None,
            slow: true,
        };
    }
    Attempt::Retry {
        reason: format!("the SMTP server did not accept the message yet: {e}"),
        after: None,
        slow: false,
    }
}

#[async_trait]
impl Sink for SmtpSink {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn id(&self) -> &str {
        SINK
    }

    async fn deliver(&self, delivery: &Delivery) -> Attempt {
        let (envelope, message) = match parts(delivery) {
            Ok(p) => p,
            Err(bad) => {
                return Attempt::Dead {
                    reason: bad.to_string(),
                };
            }
        };
        let sent = match &self.via {
            Via::Lettre(transport) => transport
                .send_raw(&envelope, message.as_bytes())
                .await
                .map_err(Failure::Smtp),
            Via::Direct(direct) => tokio::time::timeout(direct.timeout, direct.send(&envelope, message.as_bytes()))
                .await
                .unwrap_or_else(|_| {
                    Err(Failure::Unreachable(format!(
                        "the SMTP server did not answer within {} s",
                        direct.timeout.as_secs()
                    )))
                }),
        };
        match sent {
            Ok(response) => Attempt::Delivered {
                remote_id: response.message().next().map(str::to_string),
            },
            Err(Failure::Smtp(e)) => classify(&e),
            Err(Failure::Unreachable(reason)) => Attempt::Retry {
                reason: format!("the SMTP server did not accept the message yet: {reason}"),
                after: None,
                slow: false,
            },
            Err(Failure::NoStartTls) => Attempt::Retry {
                reason: "the SMTP server does not offer STARTTLS, which email.tls = \"starttls\" requires: check email.host and email.port"
                    .to_string(),
                after: None,
                slow: true,
            },
        }
    }
}
