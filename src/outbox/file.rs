//! The file transport: each message written as an .eml file in a folder, for `demo` and for
//! trying a configuration out. Writing is atomic (temp file, then rename) and named by the
//! message's idempotency key, so a repeat attempt finds the file and writes nothing new.

use std::path::PathBuf;

use async_trait::async_trait;

use crate::outbox::{Attempt, Sink};
use crate::store::{Channel, Delivery};

/// Writes messages into a folder.
pub struct FileSink {
    folder: PathBuf,
}

impl FileSink {
    /// A sink writing into `folder` (created when missing).
    pub fn new(folder: PathBuf) -> FileSink {
        FileSink { folder }
    }

    /// Where the files go.
    pub fn folder(&self) -> &std::path::Path {
        &self.folder
    }
}

#[async_trait]
impl Sink for FileSink {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn id(&self) -> &str {
        super::email::SINK
    }

    async fn deliver(&self, delivery: &Delivery) -> Attempt {
        let Some(message) = delivery.payload.get("message").and_then(|m| m.as_str()) else {
            return Attempt::Dead {
                reason: "the outbox row holds no message".into(),
            };
        };
        let name = format!(
            "{:06}-{}.eml",
            delivery.id,
            crate::email::short_hash(&delivery.idempotency_key)
        );
        let path = self.folder.join(&name);
        if path.exists() {
            return Attempt::Delivered { remote_id: Some(name) };
        }
        let tmp = self.folder.join(format!(".{name}.tmp"));
        let written = std::fs::create_dir_all(&self.folder)
            .and_then(|()| std::fs::write(&tmp, message))
            .and_then(|()| std::fs::rename(&tmp, &path));
        match written {
            Ok(()) => Attempt::Delivered { remote_id: Some(name) },
            Err(e) => Attempt::Retry {
                reason: format!(
                    "cannot write {}: {e}; check email.folder exists and apsync may write there",
                    path.display()
                ),
                after: None,
                slow: true,
            },
        }
    }
}
