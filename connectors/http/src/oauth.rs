//! The OAuth2 client-credentials client, which lives in [`apsync_connector_core::oauth2`] (one
//! client for the connectors, SMTP and the visit pusher); named here too for the callers that
//! reach it through this crate.

pub use apsync_connector_core::oauth2::{ClientCredentials, fetch_token};
