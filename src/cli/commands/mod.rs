//! One function per command; each loads what it needs and prints through [`super::output`].

mod alerts;
mod demo;
mod demo_visits;
mod documents;
mod format_try;
mod import;
mod mis;
mod outbox;
mod refused;
mod register;
mod review;
mod roster;
mod status;
mod sync;
mod token;
mod visits;

use chrono::Utc;

use super::args::{Cli, Command, FormatCommand, ReportCommand, RosterCommand};
use super::{CliError, Context};

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    crate::runtime::jobs::note_start();
    let now = cli.now.unwrap_or_else(Utc::now);
    match cli.command {
        Command::Check(args) => status::check(&cli.config, args.online, now).await,
        Command::Demo(args) => demo::run(&args.dir, cli.now).await,
        Command::Roster(RosterCommand::Import {
            pupils,
            placements,
            format,
        }) => {
            let ctx = Context::open(&cli.config, now).await?;
            roster::import(&ctx, &pupils, placements.as_deref(), format).await
        }
        Command::Sync(args) => sync::run(&Context::open(&cli.config, now).await?, args).await,
        Command::Import(args) => import::run(&Context::open(&cli.config, now).await?, args).await,
        Command::Format(FormatCommand::Try(args)) => {
            format_try::run(&Context::read_only(&cli.config, now).await?, args).await
        }
        Command::Marks(args) => register::marks(&Context::open(&cli.config, now).await?, args).await,
        Command::Report(ReportCommand::Attendance {
            range,
            by,
            period,
            format,
        }) => {
            let ctx = Context::open(&cli.config, now).await?;
            let range = register::range_of(&ctx, range, period);
            register::attendance(&ctx, range, by, format).await
        }
        Command::Review(cmd) => review::run(&Context::open(&cli.config, now).await?, cmd).await,
        Command::Outbox(cmd) => outbox::run(&Context::open(&cli.config, now).await?, cmd).await,
        Command::Visit(cmd) => visits::add(&Context::open(&cli.config, now).await?, cmd).await,
        Command::Visits(args) => visits::list(&Context::open(&cli.config, now).await?, args).await,
        Command::Token(cmd) => token::run(&Context::open(&cli.config, now).await?, cmd).await,
        Command::Mis(cmd) => mis::run(&Context::open(&cli.config, now).await?, cmd).await,
        Command::Run => {
            let ctx = Context::open(&cli.config, now).await?;
            let offset = cli.now.map_or_else(chrono::Duration::zero, |at| at - Utc::now());
            crate::runtime::daemon::run(&cli.config, ctx.loaded, ctx.store, offset)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))
        }
        Command::Alerts(args) => alerts::list(&Context::open(&cli.config, now).await?, args).await,
        Command::Documents(cmd) => documents::run(&Context::open(&cli.config, now).await?, cmd).await,
        Command::Refused(args) => refused::list(&Context::open(&cli.config, now).await?, args).await,
        Command::Status(args) => status::status(&Context::open(&cli.config, now).await?, args.format).await,
    }
}

/// Writes a listing to standard output.
fn print(listing: &super::output::Listing, format: super::output::Format) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    listing.write(format, &mut lock)?;
    Ok(())
}
