//! The HTTP API the daemon serves: the visit intake (`POST /api/v1/visits`, `GET
//! /api/v1/visits/{id}`, bearer tokens), its OpenAPI description, `/healthz`, `/readyz` and `/metrics`. Loopback by
//! default; TLS (rustls) when `[http]` names a certificate, for use across the school network.

mod api;
pub mod auth;
pub mod error;
pub mod metrics;
mod serve;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

pub use api::{BodyVisit, visit_from_json, visit_json};
pub use serve::ConnectionLimits;

use crate::config::HttpServerConfig;
use crate::intake::VisitIntake;
use crate::store::Store;

/// The OpenAPI 3.1 description served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Records visits (time zone, endpoints), as the configuration now says: the daemon sends
    /// a new one when SIGHUP reloads it.
    pub intake: tokio::sync::watch::Receiver<Arc<VisitIntake>>,
    /// Token use notes and failed-authentication counts, between requests.
    pub guards: Arc<auth::AuthGuards>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Set once the configuration is loaded and valid (the daemon sets it; `/readyz` reads it).
    pub config_loaded: Arc<std::sync::atomic::AtomicBool>,
    /// Added to the wall clock: zero in service, the daemon's `--now` shift when replaying a day.
    pub clock_offset: chrono::Duration,
}

impl AppState {
    /// The server's "now".
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + self.clock_offset
    }
}

/// `/readyz`: 200 when the store answers and the configuration is loaded, else 503 saying why.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    if !state.config_loaded.load(std::sync::atomic::Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the configuration is not loaded\n",
        )
            .into_response();
    }
    match state.store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!("readiness: the store does not answer: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database does not answer\n",
            )
                .into_response()
        }
    }
}

/// `/metrics`: the Prometheus exposition, read from the store now.
async fn metrics_page(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    match state.store.metrics().await {
        Ok(m) => (
            [(CONTENT_TYPE, metrics::CONTENT_TYPE)],
            metrics::render(&m, state.now()),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!("metrics: the store does not answer: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer\n").into_response()
        }
    }
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/api/v1/visits", axum::routing::post(api::post_visit))
        .route("/api/v1/visits/{id}", get(api::get_visit))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .merge(protected)
        .route(
            "/api/v1/openapi.json",
            get(|| async { ([(CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .fallback(|| async {
            error::ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such address: see /api/v1/openapi.json",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(state.body_limit))
        .with_state(state)
}

/// A bound socket, plain or TLS.
pub enum HttpListener {
    /// Plain HTTP (loopback).
    Plain(TcpListener),
    /// HTTPS.
    Tls(TcpListener, TlsAcceptor),
}

impl std::fmt::Debug for HttpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if matches!(self, HttpListener::Plain(_)) {
            "http"
        } else {
            "https"
        };
        write!(f, "HttpListener({kind}, {:?})", self.local_addr().ok())
    }
}

impl HttpListener {
    /// Binds `[http] listen`, with TLS when it names a certificate (read like a secret).
    pub async fn bind(
        config: &HttpServerConfig,
        credentials_dir: Option<&Path>,
        config_dir: &Path,
    ) -> Result<Self, ListenError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ListenError::Bind {
                listen: config.listen,
                source,
            })?;
        match &config.tls {
            None => Ok(HttpListener::Plain(listener)),
            Some(files) => {
                let cert = files.cert.read(credentials_dir, config_dir)?;
                let key = files.key.read(credentials_dir, config_dir)?;
                let tls = tls_config(cert.expose().as_bytes(), key.expose().as_bytes())?;
                Ok(HttpListener::Tls(listener, TlsAcceptor::from(tls)))
            }
        }
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            HttpListener::Plain(l) | HttpListener::Tls(l, _) => l.local_addr(),
        }
    }
}

/// Why the HTTP server cannot start listening; the text names the key to fix.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The address is taken or not this machine's.
    #[error("cannot listen on {listen} ([http] listen): {source}")]
    Bind {
        /// `[http] listen`.
        listen: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key file cannot be read.
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
    /// The certificate and key do not make a TLS server.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

/// Why the certificate and key do not make a TLS server.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The certificate file is not PEM.
    #[error("http.tls_cert_file: not a PEM certificate chain: {0}")]
    Certificate(rustls_pki_types::pem::Error),
    /// The certificate file holds no certificate.
    #[error("http.tls_cert_file: the file holds no certificate")]
    NoCertificate,
    /// The key file is not PEM.
    #[error("http.tls_key_file: not a PEM private key: {0}")]
    Key(rustls_pki_types::pem::Error),
    /// rustls refused the protocol versions.
    #[error("TLS set-up failed: {0}")]
    Setup(rustls::Error),
    /// The key does not belong to the certificate.
    #[error("http.tls_cert_file / tls_key_file: the certificate and key do not go together: {0}")]
    Mismatch(rustls::Error),
}

/// A rustls server configuration (aws-lc-rs) from a PEM certificate chain and key.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(TlsSetupError::Certificate)?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(TlsSetupError::Key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Setup)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsSetupError::Mismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves the API until `shutdown` completes, then finishes the requests in flight. Every
/// connection is held to `limits` (see [`serve::ConnectionLimits`]).
pub async fn serve(
    listener: HttpListener,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    let (listener, tls) = match listener {
        HttpListener::Plain(l) => (l, None),
        HttpListener::Tls(l, acceptor) => (l, Some(acceptor)),
    };
    serve::accept_loop(listener, tls, app, limits, shutdown).await
}
