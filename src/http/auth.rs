//! Bearer tokens for the HTTP intake: made from 32 random bytes, shown once, stored as SHA-256,
//! checked against every active token in constant time.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;
use crate::sha256::hex;

/// The token's prefix, so a leaked one is recognisable in a scan.
const PREFIX: &str = "aps_";

/// A new token: `aps_` and 64 hex digits (256 random bits).
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{PREFIX}{}", hex(&bytes)))
}

/// What is stored for a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether two byte strings are equal, taking the same time wherever they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Post visits, and read back the visits it posted (the default).
    Intake,
    /// Read every visit, whoever posted it (a reporting tool, the safeguarding team's viewer).
    Read,
}

impl Scope {
    /// Every scope, as written.
    pub const ALL: [&'static str; 2] = ["intake", "read"];

    /// The scope named `text`.
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "intake" => Some(Scope::Intake),
            "read" => Some(Scope::Read),
            _ => None,
        }
    }

    /// Its name, as stored and written.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Intake => "intake",
            Scope::Read => "read",
        }
    }
}

/// Who made a request: the token it carried.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's row.
    pub id: i64,
    /// The token's name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Whether the token has `scope`.
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// How often a token's use is written to the store, at most.
const USE_NOTE_EVERY: Duration = Duration::from_secs(60);
/// Failed authentications one address may make in [`FAILURE_WINDOW`] before it is refused.
const MAX_FAILURES: u32 = 10;
/// The window failed authentications are counted in, and how long an address is then refused.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at once; beyond it, expired entries are dropped (memory stays bounded).
const MAX_TRACKED: usize = 4096;

/// What the authentication middleware remembers between requests: when each token's use was
/// last written, and recent failures per peer address.
#[derive(Debug, Default)]
pub struct AuthGuards {
    noted: Mutex<HashMap<i64, Instant>>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

impl AuthGuards {
    /// Whether this use of token `id` should be written (not written in the last minute); if so,
    /// it counts as written now.
    fn note_due(&self, id: i64, now: Instant) -> bool {
        let Ok(mut noted) = self.noted.lock() else {
            return false;
        };
        match noted.get(&id) {
            Some(at) if now.duration_since(*at) < USE_NOTE_EVERY => false,
            _ => {
                noted.insert(id, now);
                true
            }
        }
    }

    /// How long `peer` is still refused for, when it has failed too often.
    fn refused_for(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().ok()?;
        let f = failures.get(&peer)?;
        let left = FAILURE_WINDOW.checked_sub(now.duration_since(f.since))?;
        (f.count >= MAX_FAILURES && !left.is_zero()).then_some(left)
    }

    /// Counts a failure from `peer`; the count in the current window.
    fn failed(&self, peer: IpAddr, now: Instant) -> u32 {
        let Ok(mut failures) = self.failures.lock() else {
            return 0;
        };
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, f| now.duration_since(f.since) < FAILURE_WINDOW);
        }
        if failures.len() >= MAX_TRACKED {
            // A flood from more addresses than are tracked: forget them all rather than grow.
            failures.clear();
        }
        let f = failures.entry(peer).or_insert(Failures { since: now, count: 0 });
        if now.duration_since(f.since) >= FAILURE_WINDOW {
            *f = Failures { since: now, count: 0 };
        }
        f.count = f.count.saturating_add(1);
        f.count
    }
}

/// Lets a request through only with an active token; puts its [`Caller`] in the extensions.
/// Failures are logged (never the token) and counted per peer address: after
/// [`MAX_FAILURES`] in a minute the address is refused with 429 until the minute is out.
pub async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let now = Instant::now();
    if let Some(left) = peer.and_then(|ip| state.guards.refused_for(ip, now)) {
        return Err(ApiError::too_many_failures(left));
    }
    let header = req.headers().get(AUTHORIZATION).cloned();
    match authenticate(&state, header).await {
        Ok(caller) => {
            if state.guards.note_due(caller.id, now) {
                // Written in the background: a request never waits on the write lock for it.
                let (store, id, at) = (state.store.clone(), caller.id, state.now());
                tokio::spawn(async move {
                    if let Err(e) = store.token_used(id, at).await {
                        tracing::warn!(token = id, "could not note the token's use: {e}");
                    }
                });
            }
            req.extensions_mut().insert(caller);
            Ok(next.run(req).await)
        }
        Err(e) => {
            let shown = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
            let count = peer.map_or(0, |ip| state.guards.failed(ip, now));
            if count < MAX_FAILURES {
                tracing::warn!(peer = %shown, code = e.code, path = %req.uri().path(), "API request refused: {}", e.message);
            } else if count == MAX_FAILURES {
                tracing::warn!(
                    peer = %shown,
                    "API requests from {shown} failed authentication {MAX_FAILURES} times in a minute: it is refused until the minute is out"
                );
            }
            Err(e)
        }
    }
}

/// The caller of a request, from its bearer token.
async fn authenticate(state: &AppState, header: Option<HeaderValue>) -> Result<Caller, ApiError> {
    let header = header.ok_or_else(|| {
        ApiError::unauthorised(
            "missing_token",
            "send the token as `Authorization: Bearer TOKEN` (see `apsync token create`)",
        )
    })?;
    let presented = header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ApiError::unauthorised("missing_token", "the Authorization header must be `Bearer TOKEN`"))?;
    let hash = token_hash(presented);
    let tokens = state.store.active_tokens().await.map_err(ApiError::store)?;
    // Every active token is compared, whichever matches, so timing says nothing about which.
    let mut found = None;
    for t in &tokens {
        if same(&t.hash, &hash) {
            found = Some(t);
        }
    }
    let token =
        found.ok_or_else(|| ApiError::unauthorised("invalid_token", "the token is wrong or has been revoked"))?;
    Ok(Caller {
        id: token.id,
        name: token.name.clone(),
        scopes: token.scopes.split_whitespace().filter_map(Scope::parse).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_compared_whole() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 4 + 64);
        assert_ne!(a, b);
        assert!(same(&token_hash(&a), &token_hash(&a)));
        assert!(!same(&token_hash(&a), &token_hash(&b)));
        assert!(!same(b"ab", b"abc"));
    }

    #[test]
    fn a_use_is_noted_at_most_once_a_minute_per_token() {
        let guards = AuthGuards::default();
        let t0 = Instant::now();
        assert!(guards.note_due(1, t0));
        assert!(!guards.note_due(1, t0 + Duration::from_secs(59)));
        assert!(guards.note_due(2, t0), "another token is its own");
        assert!(guards.note_due(1, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn an_address_failing_too_often_is_refused_for_the_rest_of_the_minute() {
        let guards = AuthGuards::default();
        let (peer, other) = ("192.0.2.7".parse().unwrap(), "192.0.2.8".parse().unwrap());
        let t0 = Instant::now();
        for n in 1..MAX_FAILURES {
            assert_eq!(guards.failed(peer, t0), n);
            assert_eq!(guards.refused_for(peer, t0), None, "{n} failures are allowed");
        }
        guards.failed(peer, t0);
        let later = t0 + Duration::from_secs(20);
        assert_eq!(guards.refused_for(peer, later), Some(Duration::from_secs(40)));
        assert_eq!(guards.refused_for(other, later), None, "only that address");
        assert_eq!(guards.refused_for(peer, t0 + FAILURE_WINDOW), None, "the minute is out");
        assert_eq!(guards.failed(peer, t0 + FAILURE_WINDOW), 1, "a new window starts");
    }
}
