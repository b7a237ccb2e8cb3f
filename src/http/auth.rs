//! Bearer tokens for the HTTP intake: made from 32 random bytes, shown once, stored as SHA-256,
//! checked against every active token in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;
use crate::digest::hex;

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

/// Who made a request: the name of the token it carried.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// Lets a request through only with an active token; puts its [`Caller`] in the extensions.
pub async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let header = req.headers().get(AUTHORIZATION).ok_or_else(|| {
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
    if let Err(e) = state.store.token_used(token.id, state.now()).await {
        tracing::warn!(token = %token.name, "could not note the token's use: {e}");
    }
    req.extensions_mut().insert(Caller(token.name.clone()));
    Ok(next.run(req).await)
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
}
