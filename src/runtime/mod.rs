//! The runtime: running connectors (now on demand with `sync`; on a schedule with `run` later),
//! and running the alert rules and the email outbox after them.

pub mod alerts;
pub mod sync;
pub mod visits;

use apsync_connector_core::Source;
use apsync_connector_folder::FolderSource;

use crate::config::{ConnectorConfig, ProviderConfig, Transport};

/// Files over this size are refused when a provider's format sets no limit of its own.
const DEFAULT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// Builds the source a connector's configuration describes.
pub fn build_source(connector: &ConnectorConfig, provider: &ProviderConfig) -> Box<dyn Source> {
    let max_bytes = provider
        .format
        .as_ref()
        .map_or(DEFAULT_MAX_BYTES, |f| f.limits.max_file_bytes);
    match &connector.transport {
        Transport::Folder(folder) => Box::new(FolderSource::new(folder, max_bytes)),
    }
}
