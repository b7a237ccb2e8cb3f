//! Bearer tokens of the HTTP intake: only their SHA-256 is stored.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, with_pool, write_tx};

/// A token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The name it was created with.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute: uses are noted at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// What it may do, space-separated (`intake`, `read`).
    pub scopes: String,
}

/// An active token's name and hash, for checking a presented token against.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    /// Its row.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// SHA-256 of the token.
    pub hash: Vec<u8>,
    /// What it may do, space-separated (`intake`, `read`).
    pub scopes: String,
}

impl Store {
    /// Stores a new token's hash under `name` with its `scopes` (space-separated); refused while
    /// another active token has the name.
    pub async fn create_token(
        &self,
        name: &str,
        hash: &[u8],
        scopes: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1 AND revoked_at IS NULL")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a token named `{name}` exists: revoke it first (`apsync token revoke {name}`) or choose another name"
                )));
            }
            sqlx::query("INSERT INTO api_tokens (name, hash, scopes, created_at) VALUES ($1, $2, $3, $4)")
                .bind(name)
                .bind(hash)
                .bind(scopes)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Revokes the active token named `name`: it stops working at once.
    pub async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(name)
                .execute(pool)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!(
                    "there is no active token named `{name}`: see `apsync token list`"
                )));
            }
        });
        Ok(())
    }

    /// Every token not revoked, with its hash.
    pub async fn active_tokens(&self) -> Result<Vec<ActiveToken>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT id, name, hash, scopes FROM api_tokens WHERE revoked_at IS NULL ORDER BY id")
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(ActiveToken {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    hash: r.try_get("hash")?,
                    scopes: r.try_get("scopes")?,
                });
            }
            Ok(out)
        })
    }

    /// Notes that a token was used (for `token list`). The API calls it at most once a minute
    /// per token, off the request path (see `http::auth::UseNotes`).
    pub async fn token_used(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
        });
        Ok(())
    }

    /// Every token, revoked ones too, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT name, created_at, revoked_at, last_used_at, scopes FROM api_tokens ORDER BY id")
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(TokenInfo {
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                    scopes: r.try_get("scopes")?,
                });
            }
            Ok(out)
        })
    }
}
