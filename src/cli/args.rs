//! The command line's shape, with the help text operators read.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use super::output::Format;

/// apsync keeps the register for pupils your school places in alternative provision: it pulls
/// providers' attendance returns, writes the marks, emails staff, and pushes visit logs.
#[derive(Debug, Parser)]
#[command(name = "apsync", version, about, propagate_version = true)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "APSYNC_CONFIG", default_value = super::DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,

    /// Take this moment as "now" (RFC 3339, e.g. 2026-03-02T09:30:00Z), to replay or test a day.
    #[arg(long, global = true, value_name = "TIMESTAMP")]
    pub now: Option<DateTime<Utc>>,

    /// How log lines on standard error are written.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration and report every mistake at once (exit 2 if any).
    Check(CheckArgs),
    /// Load the school's MIS export of pupils, and the placements.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Run connectors once now (all, or those named), importing what they find, then what the
    /// daemon does after an import: read the visits CSV folder and push due visits to the
    /// endpoints, run the rules (alerts) and send due email. Exit 0 when every row became a mark or was held already, 3 when some wait for
    /// review, 1 when a connector failed or a file could not be read.
    Sync(SyncArgs),
    /// Import provider returns by hand, through the provider's format, in the order given. Exit
    /// 0 when every row became a mark or was held already, 3 when some wait for review, 1 when a
    /// file could not be read.
    Import(ImportArgs),
    /// Provider formats: try one on a file before it touches the register.
    #[command(subcommand)]
    Format(FormatCommand),
    /// Print the register: upn, date, session, code, provider.
    Marks(MarksArgs),
    /// Reports over the register.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The review queue: rows of returns that need a person's decision.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Deliveries (emails and endpoint pushes): pending, delivered, dead letters.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Alerts: those open, and those closed recently. `level` is 0 normally and higher when it
    /// is worse: a missing return escalated at the end of the day, attendance persistently or
    /// severely low rather than below target, a provider's approval or policy expired rather
    /// than expiring.
    Alerts(AlertsArgs),
    /// The ledger of documents received: list them, or read stored ones again after a format fix.
    #[command(subcommand)]
    Documents(DocumentsCommand),
    /// Items connectors refused (strangers' or unauthenticated emails, messages without an
    /// attachment, files over the size limit), recorded and never imported.
    Refused(RefusedArgs),
    /// A summary: roster, documents, review backlog and each connector's last run.
    Status(FormatArg),
    /// Run apsync on its bundled sample data in a folder of its own (SQLite, no network).
    Demo(DemoArgs),
    /// Record a staff visit to a placed pupil; it is queued for every endpoint.
    #[command(subcommand)]
    Visit(VisitCommand),
    /// List visits, latest first, with each endpoint's delivery state.
    Visits(VisitsArgs),
    /// Bearer tokens for the HTTP visit intake.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The link to the school's MIS (through Wonde, `[mis]`): check it, pull the roster, plan
    /// the write-back of the register.
    #[command(subcommand)]
    Mis(MisCommand),
    /// The daemon: scheduler, rules, email and push senders, HTTP server; READY and watchdog to
    /// systemd; SIGHUP re-reads the configuration; SIGTERM stops cleanly. (`serve` is an alias.)
    #[command(alias = "serve")]
    Run,
}

/// `documents ...`.
#[derive(Debug, Subcommand)]
pub enum DocumentsCommand {
    /// List the documents received, oldest first, with what their latest read gave.
    List {
        /// Only this provider's.
        #[arg(long, value_name = "ID")]
        provider: Option<String>,
        /// Only those with this status.
        #[arg(long, value_enum)]
        status: Option<DocumentStatusArg>,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Read stored documents again with their provider's current format (after fixing it):
    /// each new read replaces that document's earlier marks (kept in history) and closes its
    /// open review items as superseded; the ledger keeps both reads. Exit 0, 3 or 1 as `import`.
    Reread {
        /// The documents' ids from `documents list`.
        #[arg(required_unless_present = "provider", conflicts_with = "provider")]
        ids: Vec<i64>,
        /// Every document of this provider (with --status, only those with it).
        #[arg(long, value_name = "ID")]
        provider: Option<String>,
        /// With --provider: only the documents with this status.
        #[arg(long, value_enum, requires = "provider")]
        status: Option<DocumentStatusArg>,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// A document's status, as `documents` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocumentStatusArg {
    /// Every row became a mark (or was blank).
    Imported,
    /// Some rows went to review.
    PartlyImported,
    /// The file could not be read.
    Rejected,
}

impl DocumentStatusArg {
    /// As the ledger stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatusArg::Imported => "imported",
            DocumentStatusArg::PartlyImported => "partly-imported",
            DocumentStatusArg::Rejected => "rejected",
        }
    }
}

/// `visit ...`.
#[derive(Debug, Subcommand)]
pub enum VisitCommand {
    /// Record a visit (checked as the HTTP API checks it).
    Add(VisitAddArgs),
}

/// `visit add`: the same fields as the HTTP API.
#[derive(Debug, Args)]
pub struct VisitAddArgs {
    /// The pupil's admission number or UPN.
    #[arg(long, value_name = "ADNO|UPN")]
    pub pupil: String,
    /// When the visit took place: RFC 3339, or `YYYY-MM-DD HH:MM` in the school's time zone.
    #[arg(long = "at", value_name = "TIME")]
    pub occurred_at: String,
    /// Who visited.
    #[arg(long, value_name = "NAME")]
    pub staff: String,
    /// on_site, phone or video.
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    /// The pupil's own views.
    #[arg(long = "views", value_name = "TEXT")]
    pub pupil_views: Option<String>,
    /// Notes on progress.
    #[arg(long, value_name = "TEXT")]
    pub progress: Option<String>,
    /// Notes on behaviour.
    #[arg(long, value_name = "TEXT")]
    pub behaviour: Option<String>,
    /// Notes on welfare.
    #[arg(long, value_name = "TEXT")]
    pub welfare: Option<String>,
    /// Actions agreed.
    #[arg(long, value_name = "TEXT")]
    pub actions: Option<String>,
    /// When to follow up (YYYY-MM-DD).
    #[arg(long = "follow-up", value_name = "DATE")]
    pub follow_up: Option<String>,
    /// How to print the recorded visit.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `visits`.
#[derive(Debug, Args)]
pub struct VisitsArgs {
    /// Only this pupil (admission number or UPN).
    #[arg(long, value_name = "ADNO|UPN")]
    pub pupil: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// How to print.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token for a system that posts visits; it is shown once, only its hash is kept.
    Create {
        /// A name saying who holds it, e.g. `visit-form`.
        name: String,
        /// What it may do: `intake` (post visits and read back its own; the default) or `read`
        /// (read every visit). Repeat for both.
        #[arg(long = "scope", value_name = "SCOPE", value_parser = ["intake", "read"])]
        scopes: Vec<String>,
    },
    /// Stop a token working, at once.
    Revoke {
        /// The token's name.
        name: String,
    },
    /// List tokens (never the tokens themselves).
    List {
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also connect to each connector, the database, the mail server (TLS and login, nothing
    /// sent) and each endpoint (`health_url`, else OPTIONS or HEAD: nothing created); exit 1 if
    /// any fails, each failure saying what to do.
    #[arg(long)]
    pub online: bool,
}

/// `roster ...`.
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Load pupils (and placements): an upsert; pupils missing from the export are kept, off roll.
    /// A file with any bad row is refused as a whole, listing every bad row.
    Import {
        /// The MIS export of pupils (CSV).
        #[arg(long, value_name = "FILE")]
        pupils: PathBuf,
        /// The placements (CSV): pupil, provider, provider's reference, dates, weekdays.
        #[arg(long, value_name = "FILE")]
        placements: Option<PathBuf>,
        /// How to print the summary.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `mis ...`.
#[derive(Debug, Subcommand)]
pub enum MisCommand {
    /// Prove the token, the school and its attendance code list (which register codes it maps).
    Check {
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Pull the pupils from the MIS now: an upsert as `roster import` (the same checks; a bad
    /// student is reported and the rest load); a pupil the MIS no longer lists is kept, off roll.
    /// Exit 3 when some students could not be loaded.
    Roster {
        /// How to print the summary.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// What the write-back would write to the MIS, and where the MIS holds a mark a person
    /// entered; writes nothing. Default: today.
    Plan {
        /// The days.
        #[command(flatten)]
        range: DateRange,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Write the plan to the MIS now, through the outbox (a row per date, each written once;
    /// failures retried as pushes are). Refuses a date with more than twice its placed sessions
    /// to write unless --confirm. Default: today.
    Push {
        /// The days.
        #[command(flatten)]
        range: DateRange,
        /// Write even a date with more than twice its placed sessions.
        #[arg(long)]
        confirm: bool,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this connector (repeatable).
    #[arg(long = "connector", value_name = "ID")]
    pub connectors: Vec<String>,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The provider whose format reads the files.
    #[arg(long, value_name = "ID")]
    pub provider: String,
    /// The files, imported in this order (a later return replaces an earlier mark).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `format ...`.
#[derive(Debug, Subcommand)]
pub enum FormatCommand {
    /// Read files with the provider's current format and write nothing: where the header is
    /// and each column's role, the layout and date patterns, the first rows with the mark each
    /// becomes and the identifiers that matched the pupil, and every problem in import's
    /// words. Exit 0 when every row would become a mark, 3 when some would go to review, 1
    /// when a file cannot be read.
    Try(FormatTryArgs),
}

/// `format try`.
#[derive(Debug, Args)]
pub struct FormatTryArgs {
    /// The provider whose format reads the files.
    #[arg(long, value_name = "ID")]
    pub provider: String,
    /// The files to read (nothing is imported).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How many observations to show from each file.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub rows: usize,
    /// How to print: a report for a person (`table`), the observations shown (`csv`), or
    /// everything (`json`).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// A date range.
#[derive(Debug, Args)]
pub struct DateRange {
    /// First day, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last day, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
}

/// `marks`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MarksArgs {
    /// `marks history`.
    #[command(subcommand)]
    pub command: Option<MarksCommand>,
    /// Which days.
    #[command(flatten)]
    pub range: DateRange,
    /// Only this pupil (UPN or admission number).
    #[arg(long, value_name = "PUPIL")]
    pub pupil: Option<String>,
    /// How to print.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `marks ...`.
#[derive(Debug, Subcommand)]
pub enum MarksCommand {
    /// Every value each of a pupil's sessions held: the return (file, provider, when received)
    /// or the person who decided it, and when it was replaced; the value held now last.
    History {
        /// The pupil (UPN or admission number).
        #[arg(long, value_name = "PUPIL")]
        pupil: String,
        /// Which days.
        #[command(flatten)]
        range: DateRange,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// How `report attendance` groups the marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AttendanceBy {
    /// A row per pupil, across providers.
    #[default]
    Pupil,
    /// A row per provider (pupil `all`), then a row per pupil at that provider.
    Provider,
}

/// A period `report attendance` shares with the digest and the below-target rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttendancePeriod {
    /// The school week the digest reports.
    Week,
    /// The term, to the latest school day.
    Term,
    /// The below-target rule's window of school days.
    Window,
}

/// `report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Per pupil (or per provider): possible sessions, attended, authorised and unauthorised
    /// absence, attendance %.
    Attendance {
        /// Which days.
        #[command(flatten)]
        range: DateRange,
        /// One row per pupil, or per provider and per pupil at each provider.
        #[arg(long, value_enum, default_value_t)]
        by: AttendanceBy,
        /// The digest's periods, to the latest school day: `week` (the week it reports), `term`,
        /// or `window` (the below-target alert's school days). Instead of --from and --to.
        #[arg(long, value_enum, conflicts_with_all = ["from", "to"])]
        period: Option<AttendancePeriod>,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `review ...`.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List items waiting for a decision (with --all, decided ones too).
    List {
        /// Include resolved and dismissed items.
        #[arg(long)]
        all: bool,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Decide the mark for an item: it is written to the register, with history.
    Resolve {
        /// The item's number from `review list`.
        id: i64,
        /// The statutory code to record (e.g. B, I, N).
        #[arg(long, value_name = "CODE")]
        code: String,
        /// Who decides, for the record (default: the operating-system user, or under sudo the
        /// user who ran sudo).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// Why, for the record.
        #[arg(long)]
        note: Option<String>,
    },
    /// Decide that no mark follows from an item; it is kept with your note.
    Dismiss {
        /// The item's number from `review list`.
        id: i64,
        /// Who decides, for the record (default as for `resolve`).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// Why, for the record.
        #[arg(long)]
        note: Option<String>,
    },
}

/// `outbox ...`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List deliveries, newest first (with --pending, only those not yet delivered).
    List {
        /// Only deliveries not yet accepted by their receiver.
        #[arg(long)]
        pending: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// How to print.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Put a dead letter (or a waiting delivery) back in line to be sent now.
    Retry {
        /// The delivery's number from `outbox list`.
        id: i64,
    },
}

/// `alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Also list alerts closed within this many days.
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub days: i64,
    /// How to print.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `refused`.
#[derive(Debug, Args)]
pub struct RefusedArgs {
    /// List those recorded within this many days.
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub days: i64,
    /// How to print.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `--format` alone.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// How to print.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The folder for the demo's database and configuration: new, empty, or a previous demo's
    /// (marked by .apsync-demo); never one the installed service uses.
    #[arg(long, default_value = "apsync-demo", value_name = "DIR")]
    pub dir: PathBuf,
}
