//! Delivering the outbox: a [`Sink`] (the SMTP sender, an HTTP endpoint) tries each due row and
//! says what happened; [`dispatch_once`] records it. The retry policy is pure: attempt count in,
//! delay out, with deterministic full jitter so restarts and replicas spread out.

pub mod email;
pub mod file;
pub mod oauth;
pub mod owner;
pub mod receipts;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub mod push;

use crate::store::{Channel, Delivery, Released, Store, StoreError};
use owner::{LeaseOwner, Seen, Verdict, verdict};

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver accepted it (2xx, 409 "already have it", SMTP 250).
    Delivered {
        /// The receiver's id for it, when it says.
        remote_id: Option<String>,
    },
    /// Try again later (network down, 408, 429, 5xx, SMTP 4xx).
    Retry {
        /// What went wrong, for `outbox list`.
        reason: String,
        /// The receiver's own `Retry-After`, honoured when given.
        after: Option<Duration>,
        /// A misconfiguration (401, 403, 404, refused credentials): retry slowly and tell IT.
        slow: bool,
    },
    /// It can never succeed as it is (400, 422, SMTP 5xx): kept for `outbox retry`.
    Dead {
        /// The receiver's words.
        reason: String,
    },
}

/// A receiver of deliveries.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Email or push.
    fn channel(&self) -> Channel;
    /// `smtp` or the endpoint's id, as on the outbox rows.
    fn id(&self) -> &str;
    /// Tries one delivery.
    async fn deliver(&self, delivery: &Delivery) -> Attempt;
}

/// When to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry's delay ceiling; each later attempt doubles it.
    pub base: Duration,
    /// The longest delay between attempts.
    pub cap: Duration,
    /// The delay after a misconfiguration (401/403/404, bad credentials).
    pub slow: Duration,
    /// After this long since it was queued, a delivery goes dead instead of waiting again.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(30 * 60),
            slow: Duration::from_secs(60 * 60),
            give_up_after: Duration::from_secs(3 * 24 * 60 * 60),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt, after `attempts` failed ones: a deterministic "full
    /// jitter" draw from `[delay/2, delay]` where delay doubles from `base` up to `cap`.
    pub fn delay(&self, delivery_id: i64, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
        let ceiling = self.base.saturating_mul(2u32.saturating_pow(exp)).min(self.cap);
        let jitter = (splitmix(delivery_id as u64 ^ (attempts as u64).rotate_left(32)) % 1000) as f64 / 1000.0;
        ceiling.mul_f64(0.5 + jitter / 2.0)
    }
}

/// A fixed pseudo-random mix, so one row's delays are reproducible while rows spread apart.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What one dispatch pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    /// Accepted by the receiver.
    pub delivered: u32,
    /// Waiting for another attempt.
    pub retrying: u32,
    /// Given up on (kept for replay).
    pub dead: u32,
    /// Misconfigurations seen (401/403/404, credentials): IT must look.
    pub misconfigured: u32,
}

/// How long a sender holds a claimed row before another may take it. A sender that dies on this
/// host has its rows released sooner, by the next pass of any sender here
/// ([`release_dead_leases`]); one that dies on another host (a replica) leaves them this long.
const LEASE: Duration = Duration::from_secs(5 * 60);

/// How many rows a pass claims at once. Few for email: rows held by a replica that died wait for
/// their lease, and a message takes a second or more to send, so a small batch loses nothing.
/// Pushes are quick and carry an idempotency key, so a larger batch costs little if it waits.
fn batch(channel: Channel) -> i64 {
    match channel {
        Channel::Email => 5,
        Channel::Push => 50,
        // A row is a whole date's marks.
        Channel::Mis => 5,
    }
}

/// Releases the leases held by processes on this host that are gone (killed, crashed; a pid
/// taken by a later process counts as gone), so their rows are sent now rather than when the
/// lease runs out; how many rows. Leases of live processes (an `apsync sync` next to the daemon),
/// of processes hidden from this one, and of other hosts are left alone. `probe` asks the kernel
/// about a pid ([`owner::probe`]; tests give their own). Their rows' attempt markers stay, so
/// the next attempt still shows the last one's outcome was unknown.
pub async fn release_dead_leases(
    store: &Store,
    me: &LeaseOwner,
    probe: impl Fn(u32) -> Seen,
    now: DateTime<Utc>,
) -> Result<Released, StoreError> {
    let mut released = Released::default();
    for holder in store.lease_holders(now).await? {
        let Some(owner) = LeaseOwner::parse(&holder) else {
            continue;
        };
        if verdict(&owner, me, probe(owner.pid)) != Verdict::Gone {
            continue;
        }
        let r = store.release_leases(&holder).await?;
        if r.rows > 0 {
            tracing::warn!(
                holder,
                rows = r.rows,
                in_flight = r.in_flight,
                "released outbox rows held by a sender that is gone (killed or crashed); they are due now. \
                 Those in flight may already have reached their receiver: a push is repeated with its \
                 Idempotency-Key, an email may arrive twice (same Message-ID)"
            );
        }
        released.rows += r.rows;
        released.in_flight += r.in_flight;
    }
    Ok(released)
}

/// Delivers every due row of `sink` once, recording each outcome as it happens, so a crash
/// mid-pass repeats at most the one delivery in flight, with the same idempotency key.
///
/// Exactly once cannot be had with SMTP: it has no idempotency key, and the server's 250 and the
/// row's `delivered` are two commits on two machines. A kill between them makes the message go
/// again (the same bytes and Message-ID, which mail clients fold). So the window is kept as narrow
/// as is sound, and made visible: the attempt is marked on the row, and committed, before the
/// receiver sees anything; on SQLite, where the outcome's write may wait for the write lock, an
/// acceptance is first written to the receipts file beside the database ([`receipts`]), which a
/// later sender on this host reads before sending a row whose last attempt never ended; and
/// nothing else (not even logging) comes between the reply and those writes. A row found pending
/// with that mark after its sender died is the only kind that can repeat. Holding such rows back
/// instead would trade a possible repeat for a possibly lost alert, which is worse.
pub async fn dispatch_once(
    store: &Store,
    sink: &dyn Sink,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> Result<DispatchReport, StoreError> {
    let mut report = DispatchReport::default();
    let lease = chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::minutes(5));
    if let Some(me) = owner::this_process() {
        release_dead_leases(store, me, owner::probe, now).await?;
    }
    let me = owner::this_process_name();
    let receipts = store.sqlite_file().map(|db| receipts::Receipts::beside(&db));
    if let Some(r) = &receipts
        && let Err(e) = r.compact()
    {
        tracing::warn!("cannot tidy {}: {e}", r.path().display());
    }
    // `now` is the pass's clock (shifted by `--now`, fixed in tests); a lease renewed at each
    // attempt is counted from it plus the time the pass has taken so far.
    let started = std::time::Instant::now();
    loop {
        let batch = store
            .claim_due(sink.channel(), sink.id(), batch(sink.channel()), lease, &me, now)
            .await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for d in batch {
            if let Some(remote_id) = accepted_before(receipts.as_ref(), &d) {
                // Its last sender died after the receiver accepted it and before it could say so.
                store.mark_delivered(d.id, remote_id.as_deref(), now).await?;
                report.delivered += 1;
                tracing::info!(
                    sink = sink.id(),
                    delivery = d.id,
                    "the receiver accepted it before its sender died: recorded, not sent again"
                );
                continue;
            }
            let at = now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
            if !store.begin_attempt(d.id, &me, at, at + lease).await? {
                tracing::info!(
                    sink = sink.id(),
                    delivery = d.id,
                    "another sender holds it now; skipped"
                );
                continue;
            }
            let span = tracing::info_span!("delivery", sink = sink.id(), delivery = d.id, attempt = d.attempts + 1);
            let attempt = tracing::Instrument::instrument(sink.deliver(&d), span).await;
            if let (Attempt::Delivered { remote_id }, Some(r)) = (&attempt, &receipts)
                && let Err(e) = r.record(d.id, at, remote_id.as_deref())
            {
                // Only the shortcut is lost: the row is still recorded below. Said once, not at
                // every message.
                static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
                if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!("cannot write to {}: {e}", r.path().display());
                }
            }
            let kind = record(store, policy, &d, attempt, now, &mut report).await?;
            // The outcome's kind only: a receiver's words may echo the payload (safeguarding text);
            // they are kept on the row for `outbox list`, never in the logs.
            tracing::info!(
                sink = sink.id(),
                delivery = d.id,
                attempt = d.attempts + 1,
                outcome = kind,
                "delivery attempt"
            );
        }
    }
}

/// The receiver's id, when a receipt shows the last attempt of `d` (one that never ended) was
/// accepted.
fn accepted_before(receipts: Option<&receipts::Receipts>, d: &Delivery) -> Option<Option<String>> {
    let (r, started) = (receipts?, d.attempt_started_at?);
    match r.find(d.id, started) {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("cannot read {}: {e}", r.path().display());
            None
        }
    }
}

/// Writes an attempt's outcome on its row and counts it; the outcome's kind, for the log.
async fn record(
    store: &Store,
    policy: &RetryPolicy,
    d: &Delivery,
    attempt: Attempt,
    now: DateTime<Utc>,
    report: &mut DispatchReport,
) -> Result<&'static str, StoreError> {
    match attempt {
        Attempt::Delivered { remote_id } => {
            // Stopping here (not carrying on) if this write fails is deliberate: the receiver has
            // it, and a sender that cannot record that must not send more.
            store.mark_delivered(d.id, remote_id.as_deref(), now).await?;
            if d.channel == Channel::Push.as_str() {
                store.note_endpoint_delivered(&d.sink, now).await?;
            }
            report.delivered += 1;
            Ok("delivered")
        }
        Attempt::Dead { reason } => {
            store.mark_dead(d.id, &reason).await?;
            report.dead += 1;
            Ok("dead")
        }
        Attempt::Retry { reason, after, slow } => {
            let age = (now - d.created_at).to_std().unwrap_or_default();
            if age >= policy.give_up_after {
                let reason = format!(
                    "gave up after {} attempts over {}h: {reason}",
                    d.attempts + 1,
                    age.as_secs() / 3600
                );
                store.mark_dead(d.id, &reason).await?;
                report.dead += 1;
                return Ok("dead");
            }
            let delay = match (after, slow) {
                (_, true) => policy.slow,
                (Some(after), false) => after,
                (None, false) => policy.delay(d.id, d.attempts),
            };
            let next = now + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1));
            store.mark_retry(d.id, &reason, next).await?;
            report.retrying += 1;
            if slow {
                report.misconfigured += 1;
                if d.channel == Channel::Push.as_str() {
                    store.note_endpoint_refused(&d.sink, &reason, now).await?;
                }
                return Ok("retry (misconfigured)");
            }
            Ok("retry")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_and_are_reproducible() {
        let p = RetryPolicy::default();
        let first = p.delay(7, 0);
        assert!(
            first >= Duration::from_secs(5) && first <= Duration::from_secs(10),
            "{first:?}"
        );
        let fourth = p.delay(7, 3);
        assert!(
            fourth >= Duration::from_secs(40) && fourth <= Duration::from_secs(80),
            "{fourth:?}"
        );
        assert!(p.delay(7, 50) <= p.cap);
        assert_eq!(p.delay(7, 3), p.delay(7, 3));
        assert_ne!(p.delay(7, 3), p.delay(8, 3), "rows spread apart");
    }
}
