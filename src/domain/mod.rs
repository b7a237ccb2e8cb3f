//! The school's domain: register codes, pupils' identifiers, sessions, the calendar and the
//! attendance arithmetic. Everything here is pure: data in, data out, no I/O.

pub mod session;

pub use session::Session;
