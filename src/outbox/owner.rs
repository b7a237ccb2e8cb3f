//! Who holds an outbox lease: one process instance, named so that another process on the same
//! machine can tell, after a crash, that the holder is gone and its rows need not wait for the
//! lease to run out.
//!
//! An owner is `host:pidns:pid:start`: the host name (for people reading `leased_by`), the pid
//! namespace (pids mean the same thing only inside one), the pid, and the process's start time in
//! clock ticks since boot (field 22 of `/proc/PID/stat`), so a pid reused by a later process is
//! not mistaken for the holder. The decision ([`verdict`]) is pure; reading `/proc` and asking
//! the kernel whether a pid exists happen at the edge ([`LeaseOwner::current`], [`probe`]).

use std::fmt;
use std::sync::OnceLock;

/// A process instance that can hold leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOwner {
    /// The machine's host name.
    pub host: String,
    /// The inode of the pid namespace (`/proc/self/ns/pid`).
    pub pid_ns: u64,
    /// The process id.
    pub pid: u32,
    /// When the process started, in clock ticks since boot.
    pub start: u64,
}

impl fmt::Display for LeaseOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}", self.host, self.pid_ns, self.pid, self.start)
    }
}

impl LeaseOwner {
    /// Reads an owner as stored; `None` for anything else (an older or foreign format), which is
    /// then never released early.
    pub fn parse(text: &str) -> Option<LeaseOwner> {
        // The host comes first and host names hold no colon, but split from the right anyway so
        // the numbers are always the last three fields.
        let mut parts = text.rsplitn(4, ':');
        let start = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let pid_ns = parts.next()?.parse().ok()?;
        let host = parts.next().filter(|h| !h.is_empty())?.to_string();
        Some(LeaseOwner {
            host,
            pid_ns,
            pid,
            start,
        })
    }

    /// This process, read from the kernel.
    pub fn current() -> Result<LeaseOwner, OwnerError> {
        let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
        let ns = std::fs::read_link("/proc/self/ns/pid").map_err(|e| OwnerError(format!("/proc/self/ns/pid: {e}")))?;
        let pid_ns = parse_ns_link(&ns.to_string_lossy())
            .ok_or_else(|| OwnerError(format!("/proc/self/ns/pid reads {}", ns.display())))?;
        let stat =
            std::fs::read_to_string("/proc/self/stat").map_err(|e| OwnerError(format!("/proc/self/stat: {e}")))?;
        let start = start_time(&stat).ok_or_else(|| OwnerError("/proc/self/stat has no start time".into()))?;
        Ok(LeaseOwner {
            host,
            pid_ns,
            pid: std::process::id(),
            start,
        })
    }
}

/// This process's identity could not be read (no `/proc`: not Linux, or a sandbox hiding it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot tell which process this is: {0}")]
pub struct OwnerError(pub String);

/// This process as a lease owner, read once. `None` when it cannot be read: leases are then taken
/// under a name no one parses, so they are never released early, only by running out.
pub fn this_process() -> Option<&'static LeaseOwner> {
    static ME: OnceLock<Option<LeaseOwner>> = OnceLock::new();
    ME.get_or_init(|| match LeaseOwner::current() {
        Ok(me) => Some(me),
        Err(e) => {
            tracing::warn!("{e}; outbox rows held by a process that died wait for their lease to run out");
            None
        }
    })
    .as_ref()
}

/// The owner text for leases this process takes.
pub fn this_process_name() -> String {
    this_process().map_or_else(|| format!("unknown:{}", std::process::id()), ToString::to_string)
}

/// The start time (field 22) in the text of `/proc/PID/stat`. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so fields are counted after the last
/// `)`.
pub fn start_time(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts at field 3 (the state).
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// The inode in a namespace link, `pid:[4026531836]`.
pub fn parse_ns_link(link: &str) -> Option<u64> {
    link.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// What the kernel says about a pid on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A process with this pid runs, started at this time.
    Running {
        /// Clock ticks since boot.
        start: u64,
    },
    /// No process has this pid.
    NoSuchProcess,
    /// A process has this pid but its start time cannot be read (`/proc` hides other users'
    /// processes, as under systemd's `ProtectProc=invisible`), or the answer was unclear.
    Hidden,
}

/// What to do with a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Held by a process elsewhere (another host, another pid namespace): its liveness cannot be
    /// checked from here, so the lease runs its course.
    Elsewhere,
    /// Held by a process that runs, or may run: left alone.
    Alive,
    /// Held by a process that is gone: its rows can be released now.
    Gone,
}

/// Whether `owner`'s leases can be released, given this process `me` and what the kernel said
/// about the owner's pid (`seen`, looked up only when the owner is on this machine).
pub fn verdict(owner: &LeaseOwner, me: &LeaseOwner, seen: Seen) -> Verdict {
    if owner.host != me.host || owner.pid_ns != me.pid_ns {
        return Verdict::Elsewhere;
    }
    if owner == me {
        return Verdict::Alive;
    }
    match seen {
        Seen::Running { start } if start == owner.start => Verdict::Alive,
        // The pid now belongs to a later process: the holder is gone.
        Seen::Running { .. } | Seen::NoSuchProcess => Verdict::Gone,
        // Cannot tell a live hidden process from a dead one: wait for the lease rather than risk
        // sending what a live holder is sending.
        Seen::Hidden => Verdict::Alive,
    }
}

/// Asks the kernel about `pid` on this machine: its start time from `/proc`, else whether it
/// exists at all (signal 0: ESRCH means no such process; EPERM means one we may not see).
pub fn probe(pid: u32) -> Seen {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => start_time(&stat).map_or(Seen::Hidden, |start| Seen::Running { start }),
        Err(_) => {
            let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
                return Seen::NoSuchProcess;
            };
            match rustix::process::test_kill_process(pid) {
                Err(rustix::io::Errno::SRCH) => Seen::NoSuchProcess,
                _ => Seen::Hidden,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(host: &str, pid: u32, start: u64) -> LeaseOwner {
        LeaseOwner {
            host: host.into(),
            pid_ns: 4_026_531_836,
            pid,
            start,
        }
    }

    #[test]
    fn owners_round_trip_and_foreign_text_is_not_an_owner() {
        let o = owner("school-srv", 4242, 987_654);
        assert_eq!(o.to_string(), "school-srv:4026531836:4242:987654");
        assert_eq!(LeaseOwner::parse(&o.to_string()), Some(o));
        for text in ["", "unknown:4242", "host:1:2", ":1:2:3", "h:x:2:3", "h:1:2:-3"] {
            assert_eq!(LeaseOwner::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_start_time_is_counted_after_the_command_name() {
        let stat = "4242 (apsync (odd) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        assert_eq!(start_time(stat), Some(987_654));
        assert_eq!(start_time("4242 (apsync) S 1"), None);
        assert_eq!(parse_ns_link("pid:[4026531836]"), Some(4_026_531_836));
        assert_eq!(parse_ns_link("net:[1]"), None);
    }

    #[test]
    fn only_a_holder_on_this_machine_known_to_be_gone_is_released() {
        let me = owner("school-srv", 100, 5_000);
        let holder = owner("school-srv", 200, 4_000);
        // The holder's process is gone, or its pid was taken by a later process.
        assert_eq!(verdict(&holder, &me, Seen::NoSuchProcess), Verdict::Gone);
        assert_eq!(verdict(&holder, &me, Seen::Running { start: 4_500 }), Verdict::Gone);
        // Still running (e.g. `apsync sync` run by IT while the daemon runs), or hidden from us.
        assert_eq!(verdict(&holder, &me, Seen::Running { start: 4_000 }), Verdict::Alive);
        assert_eq!(verdict(&holder, &me, Seen::Hidden), Verdict::Alive);
        assert_eq!(verdict(&me, &me, Seen::NoSuchProcess), Verdict::Alive);
        // Another host (a PostgreSQL replica) or another pid namespace: never judged from here.
        let replica = owner("replica-2", 200, 4_000);
        assert_eq!(verdict(&replica, &me, Seen::NoSuchProcess), Verdict::Elsewhere);
        let container = LeaseOwner { pid_ns: 1, ..holder };
        assert_eq!(verdict(&container, &me, Seen::NoSuchProcess), Verdict::Elsewhere);
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_gone() {
        let Ok(me) = LeaseOwner::current() else { return };
        assert_eq!(probe(me.pid), Seen::Running { start: me.start });
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = LeaseOwner { pid, ..me.clone() };
        assert_eq!(verdict(&gone, &me, probe(pid)), Verdict::Gone);
    }
}
