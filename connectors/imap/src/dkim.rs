//! `authentication = "dkim"`: the message's DKIM signatures checked here, the signer's key read
//! from DNS through a [`DkimResolver`] (hickory over the system's resolver in service; a stub in
//! tests).

use std::sync::Arc;

use apsync_connector_core::{ErrorCode, printable};
use hickory_resolver::net::NetError;
use mailrs_dkim::DkimResult;
pub use mailrs_dkim::{DkimError, DkimResolver};

use crate::auth::{Judgement, aligned};

/// Why the system's resolver cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    /// The system's DNS configuration cannot be read.
    #[error("cannot read the system's DNS configuration: {0}")]
    Configuration(#[source] NetError),
    /// The resolver cannot be started.
    #[error("cannot start a DNS resolver: {0}")]
    Start(#[source] NetError),
}

/// The resolver used in service: the system's DNS configuration (`/etc/resolv.conf`).
pub fn system_resolver() -> Result<Arc<dyn DkimResolver>, ResolverError> {
    let inner = hickory_resolver::TokioResolver::builder_tokio()
        .map_err(ResolverError::Configuration)?
        .build()
        .map_err(ResolverError::Start)?;
    Ok(Arc::new(mailrs_dkim::HickoryDkimResolver::new(inner)))
}

/// What checking a message's signatures found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DkimOutcome {
    /// Decided: genuine, or refused with why.
    Decided(Judgement),
    /// The signer's key could not be read just now (DNS timed out): try again later.
    TryLater(String),
}

/// Checks `raw`'s DKIM signatures: genuine when one passes with a signing domain aligned with
/// `from_domain` (the `From:` address's domain).
pub async fn judge_dkim(resolver: &dyn DkimResolver, raw: &[u8], from_domain: &str) -> DkimOutcome {
    let outputs = mailrs_dkim::verify_all(resolver, raw).await;
    if let Some(pass) = outputs.iter().find(|o| o.is_pass() && aligned(o.domain(), from_domain)) {
        return DkimOutcome::Decided(Judgement::Authenticated(format!(
            "dkim=pass header.d={} (checked by apsync)",
            pass.domain()
        )));
    }
    if outputs.iter().any(|o| o.result == DkimResult::TempError) {
        return DkimOutcome::TryLater(
            "the signer's DKIM key could not be read from DNS just now; the message is checked again next run".into(),
        );
    }
    let seen: Vec<String> = outputs
        .iter()
        .map(|o| format!("dkim={} header.d={}", o.result, printable(o.domain(), 100)))
        .collect();
    let reason = if seen.is_empty() {
        "the message has no DKIM signature, so nothing shows it comes from the sender it names".to_string()
    } else {
        format!(
            "no DKIM signature passed for the sender's domain {} ({})",
            printable(from_domain, 100),
            seen.join(", ")
        )
    };
    DkimOutcome::Decided(Judgement::Refused {
        code: ErrorCode::ImapDkim,
        reason,
        verdict: (!seen.is_empty()).then(|| seen.join("; ")),
    })
}
