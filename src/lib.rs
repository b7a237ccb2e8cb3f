//! apsync: keeps a school's register for pupils placed in alternative provision.

pub mod domain;
