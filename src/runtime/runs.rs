//! Connector runs that end badly: cut short because the process running them died, or stopped by
//! a panic in the connector's code. Neither may leave a run marked `running` for ever, nor a
//! connector waiting for a run that will never end.
//!
//! Each run names the process running it, as outbox leases do (`host:pidns:pid:start`, see
//! [`crate::outbox::owner`], whose judgement of a holder is reused here): a run of a process on
//! this host that is gone is closed as `interrupted`; a run of a live process, of one hidden from
//! this one, or of one on another host (a replica on the same PostgreSQL) is left alone, unless it
//! started more than [`ABANDONED_AFTER`] ago, which no run lasts.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};

use crate::outbox::owner::{LeaseOwner, Seen, Verdict, verdict};
use crate::store::{RunStatus, Store, StoreError};

/// A run still marked running this long after it started is closed whoever runs it: a run takes
/// at most [`super::sync::BATCH_LIMIT`] items, minutes, never a day; so its process is gone even
/// if this one cannot tell (another host, or a run recorded before runs named their process).
pub const ABANDONED_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The error kind an interrupted run is recorded with: worth running again.
const INTERRUPTED_KIND: &str = "transient";

/// Closes, as `interrupted`, every run still marked running whose process is gone (this host,
/// judged by [`verdict`] with `probe`, e.g. [`crate::outbox::owner::probe`]), or that started
/// more than [`ABANDONED_AFTER`] before `now`; how many. Such runs count towards the
/// "connector failing" alert, and the scheduler runs their connectors again at once.
pub async fn close_interrupted_runs(
    store: &Store,
    me: Option<&LeaseOwner>,
    probe: impl Fn(u32) -> Seen,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut closed = 0;
    // A run is made under its connector's lease (see `super::jobs`): a process elsewhere (another
    // host) whose runs are marked running but that holds no lease any more has stopped.
    let leased: Vec<String> = store
        .held_jobs(Utc::now())
        .await?
        .into_iter()
        .map(|l| l.held_by)
        .collect();
    for holder in store.run_holders().await? {
        let owner = holder.as_deref().and_then(LeaseOwner::parse);
        let gone = match (&owner, me) {
            (Some(owner), Some(me)) => match verdict(owner, me, probe(owner.pid)) {
                Verdict::Gone => true,
                Verdict::Elsewhere => holder.as_ref().is_some_and(|h| !leased.contains(h)),
                Verdict::Alive => false,
            },
            _ => false,
        };
        // A gone process's runs are closed whenever they started: `--now` shifts each process's
        // clock from its own start, so times of two processes need not agree to the second.
        let cutoff = (!gone).then(|| now - ABANDONED_AFTER);
        let who = holder.as_deref().unwrap_or("an earlier version of apsync");
        let error = format!(
            "the run was cut short: the apsync process running it ({who}) stopped before it finished \
             (killed, crashed, or the machine restarted); nothing it had not committed was kept, and \
             the connector runs again"
        );
        let n = store
            .close_runs_of(
                holder.as_deref(),
                cutoff,
                RunStatus::Interrupted,
                (INTERRUPTED_KIND, &error),
                now,
            )
            .await?;
        if n > 0 {
            tracing::warn!(
                holder = who,
                runs = n,
                "closed connector runs cut short by a process that is gone"
            );
        }
        closed += n;
    }
    Ok(closed)
}

/// A panic caught in a connector run: what it said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "apsync hit an internal fault (a bug) while running this connector, so the run was stopped: {message}. \
     Nothing it had not committed was kept; the connector runs again at its next time. Please report this \
     with the log"
)]
pub struct RunPanicked {
    /// The panic's message, when it has one.
    pub message: String,
}

impl RunPanicked {
    /// From a panic's payload.
    pub fn from_payload(payload: &(dyn std::any::Any + Send)) -> RunPanicked {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        RunPanicked { message }
    }
}

/// A future that turns a panic while it is polled into [`RunPanicked`]. What it held is dropped
/// as the panic unwinds (an open transaction rolls back), and nothing it borrowed is used again
/// by the caller except to record the failure, so the future need not be unwind-safe.
pub struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> CatchPanic<F> {
    /// Watches `inner`.
    pub fn new(inner: F) -> Self {
        CatchPanic { inner: Box::pin(inner) }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, RunPanicked>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(RunPanicked::from_payload(payload.as_ref()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_with_its_message() {
        let caught = CatchPanic::new(async {
            tokio::task::yield_now().await;
            if true {
                std::panic::panic_any(String::from("index out of range"));
            }
            1
        })
        .await;
        assert_eq!(
            caught,
            Err(RunPanicked {
                message: "index out of range".into()
            })
        );
        assert_eq!(CatchPanic::new(async { 2 }).await, Ok(2));
    }
}
