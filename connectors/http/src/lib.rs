//! apsync connector for providers' JSON attendance APIs, and the OAuth2 client-credentials flow
//! shared with the IMAP connector.

pub mod oauth;
