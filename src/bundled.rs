//! What build.rs embeds in the binary: schema migrations, and the demo's sample data and formats.

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
