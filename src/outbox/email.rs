//! The SMTP sender: delivers email rows of the outbox with lettre over STARTTLS or implicit TLS
//! (certificates verified), logging in with a password or XOAUTH2. The server's reply decides the
//! outcome: 250 delivered; 4xx or no answer, retry; 5xx, dead with the server's words; refused
//! credentials or a certificate that does not verify, retry slowly and tell IT.

use std::path::Path;

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Attempt, Sink};
use crate::config::{SmtpConfig, TlsMode};
use crate::store::{Channel, Delivery};

/// Sends email rows to an SMTP server.
pub struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
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
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .timeout(Some(cfg.timeout))
            .tls(match cfg.tls {
                TlsMode::StartTls => Tls::Required(tls),
                TlsMode::Implicit => Tls::Wrapper(tls),
                TlsMode::None => Tls::None,
            });
        if let Some(user) = &cfg.username {
            if let Some(oauth) = &cfg.oauth {
                let token = super::oauth::fetch_token(oauth, credentials_dir, config_dir)
                    .await
                    .map_err(SetupError)?;
                builder = builder
                    .credentials(Credentials::new(user.clone(), token.expose().to_string()))
                    .authentication(vec![Mechanism::Xoauth2]);
            } else if let Some(file) = &cfg.password_file {
                let password = file
                    .read(credentials_dir, config_dir)
                    .map_err(|e| SetupError(e.to_string()))?;
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_string()))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
        }
        Ok(SmtpSink {
            transport: builder.build(),
        })
    }
}

/// Reads the outbox row into an envelope and the raw message.
fn parts(d: &Delivery) -> Result<(Envelope, &str), String> {
    let p = &d.payload;
    let from: Address = p["from"]
        .as_str()
        .and_then(|f| f.parse::<lettre::message::Mailbox>().ok())
        .map(|m| m.email)
        .ok_or("the row has no valid From address")?;
    let to: Vec<Address> = p["to"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let message = p["message"].as_str().ok_or("the row holds no message")?;
    let envelope = Envelope::new(Some(from), to).map_err(|e| e.to_string())?;
    Ok((envelope, message))
}

/// What an SMTP failure means for the row.
pub(crate) fn classify(e: &lettre::transport::smtp::Error) -> Attempt {
    let code = e.status().map(|c| c.to_string());
    if matches!(code.as_deref(), Some("530" | "534" | "535" | "538")) {
        return Attempt::Retry {
            reason: format!(
                "the SMTP server refused apsync's credentials ({e}): check email.username and email.password_file \
                 (or [email.oauth]); nothing can be sent until then"
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
        crate::email::SINK
    }

    async fn deliver(&self, delivery: &Delivery) -> Attempt {
        let (envelope, message) = match parts(delivery) {
            Ok(p) => p,
            Err(reason) => return Attempt::Dead { reason },
        };
        match self.transport.send_raw(&envelope, message.as_bytes()).await {
            Ok(response) => Attempt::Delivered {
                remote_id: response.message().next().map(str::to_string),
            },
            Err(e) => classify(&e),
        }
    }
}
