//! An in-process HTTP server for provider API tests: an axum router served on a free loopback
//! port from a thread of its own (so tests may block on the real binary), stopped on drop.

use tokio::sync::oneshot;

/// A running server.
pub struct Api {
    /// The address it listens on.
    pub ip: &'static str,
    /// The port.
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Api {
    /// Serves `router` on 127.0.0.1 until dropped.
    pub fn serve(router: axum::Router) -> Api {
        Api::serve_on("127.0.0.1", router)
    }

    /// Serves `router` on `ip` (another loopback address, 127.0.0.2, is another host) until
    /// dropped.
    pub fn serve_on(ip: &'static str, router: axum::Router) -> Api {
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Api {
            ip,
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://IP:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.ip, self.port)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The northstar sample pages as a paged API: `?page=N` (default 1) returns `page-N.json`,
/// and every request's query string is recorded.
pub fn northstar(log: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> axum::Router {
    use axum::extract::RawQuery;
    axum::Router::new().route(
        "/v1/attendance",
        axum::routing::get(move |RawQuery(q): RawQuery| {
            let log = log.clone();
            async move {
                let q = q.unwrap_or_default();
                log.lock().unwrap().push(q.clone());
                let page = q
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .unwrap_or("1")
                    .to_string();
                let path = super::install::root().join(format!("samples/returns/northstar/page-{page}.json"));
                match std::fs::read(path) {
                    Ok(bytes) => (axum::http::StatusCode::OK, bytes),
                    Err(_) => (
                        axum::http::StatusCode::OK,
                        br#"{"data": [], "meta": {"next_page": null}}"#.to_vec(),
                    ),
                }
            }
        }),
    )
}
