//! The `duban` command: subcommands only.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use duban::auth::password;
use duban::auth::policy::Role;
use duban::config::{Secrets, Settings};
use duban::domain::reference;
use duban::domain::users::{self, NewAccount};
use duban::error::AppError;
use duban::startup::{self, Application};
use duban::state::Clock;

#[derive(Parser)]
#[command(
    name = "duban",
    version,
    about = "Duban (督办): complaint supervision service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations and load reference data.
    Migrate,
    /// Run one escalation sweep now (e.g. from cron) and print what it did.
    Escalate,
    /// Replace the unit list with the county's own: a CSV exported from a
    /// spreadsheet, or a file in the format of config/units.toml. The file is
    /// checked whole (every problem named, nothing written if any), loaded
    /// into the database (units left out are deactivated, never deleted) and
    /// written as config/units.toml, which every instance loads at start-up.
    ImportUnits {
        /// A .csv file (header row in English or Chinese) or a .toml file.
        file: PathBuf,
        /// Check the file and show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The tamper-evident audit log (README, "The audit log").
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The ranking's and the statistics' aggregates (README, "Ranking and
    /// statistics").
    Tallies {
        #[command(subcommand)]
        command: TalliesCommand,
    },
}

#[derive(Subcommand)]
enum TalliesCommand {
    /// Compare every stored bucket with a fresh count from the cases, letters,
    /// calls and score events; exits 1 and lists the differences if any.
    Check,
    /// Count everything afresh and replace the buckets (writers wait
    /// meanwhile). Only needed if `check` found a difference.
    Rebuild,
    /// Fold the waiting deltas now (`duban serve` does this every
    /// `ranking.fold_interval_ms`).
    Fold,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the audit log: every entry, the tree, every checkpoint's
    /// signature and root, and every case's state. Prints the report (JSON)
    /// and exits 1 when anything was found.
    /// Progress goes to standard error while the whole log is walked.
    Verify {
        /// Checkpoints kept outside the system (the file `audit.checkpoint_file`
        /// writes, or lines copied from the e-mails): one JSON object a line.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Verify one chain only: `admin`, `case:<tracking no>` or the
        /// tracking number.
        #[arg(long)]
        chain: Option<String>,
        /// Verify only what was written from this local date (2026-11-27) or
        /// RFC 3339 time.
        #[arg(long)]
        from: Option<String>,
        /// … up to this local date (included) or RFC 3339 time.
        #[arg(long)]
        to: Option<String>,
    },
    /// Sign a checkpoint now; prints it as the JSON line auditors keep.
    Checkpoint,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; prints a generated password unless one is piped in.
    ///
    /// A password has at least 12 characters (any characters; a passphrase of
    /// several words is easiest to type and hardest to guess). The generated
    /// one has 20.
    Add {
        #[arg(long)]
        username: String,
        /// admin, supervisor, operator, unit or auditor.
        #[arg(long)]
        role: String,
        /// The unit code, for role unit.
        #[arg(long)]
        unit: Option<String>,
        /// Read the password from standard input (at least 12 characters).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The service's log filter unless `DUBAN_LOG` says otherwise.
const DEFAULT_LOG: &str = "info,actix_server=warn";

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load()?;
    // The service logs its work; a command that prints its result says only
    // what went wrong (DUBAN_LOG still chooses).
    let quiet = !matches!(cli.command, None | Some(Command::Serve { .. }));
    if quiet {
        duban::telemetry::init_to(settings.env, "warn", duban::telemetry::LogOutput::Stderr);
    } else {
        duban::telemetry::init(settings.env, DEFAULT_LOG);
    }
    match cli.command.unwrap_or(Command::Serve { bind: None }) {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                settings.server.bind = bind;
                settings.validate()?;
            }
            let secrets = Secrets::load(&settings)?;
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings, secrets, Clock::default()).await?;
                tracing::info!(port = app.port(), "duban listening");
                app.run_until_stopped().await?;
                anyhow::Ok(())
            })
        }
        Command::Migrate => {
            startup::prepare_database(&settings, std::time::Duration::from_secs(30))?;
            println!("database is up to date");
            Ok(())
        }
        Command::Escalate => {
            let secrets = Secrets::load(&settings)?;
            let pool = startup::prepare_database(&settings, std::time::Duration::from_secs(30))?;
            let state = startup::build_state(settings, &secrets, pool.clone(), Clock::default())?;
            let mut conn = pool.get()?;
            let now = state.clock.now();
            let report =
                duban::domain::escalation::sweep(&mut conn, &state.intake, &state.ladder, now)
                    .map_err(|e| anyhow::anyhow!("sweep failed: {e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::ImportUnits { file, dry_run } => import_units(&settings, &file, dry_run),
        Command::Audit { command } => audit(settings, command),
        Command::Tallies { command } => tallies(&settings, command),
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    unit,
                    password_stdin,
                },
        } => {
            let role = Role::parse(&role)
                .with_context(|| format!("role must be one of {}", Role::NAMES.join(", ")))?;
            let (password, generated) = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                (s.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (password::generate(), true)
            };
            let pool = startup::prepare_database(&settings, std::time::Duration::from_secs(30))?;
            let mut conn = pool.get()?;
            let account = NewAccount {
                username,
                role,
                unit,
                password,
            };
            match users::create(&mut conn, None, &account, chrono::Utc::now()) {
                Ok(user) => {
                    println!(
                        "created user {} (id {}, role {})",
                        user.username, user.id, user.role
                    );
                    if generated {
                        println!("password: {}", account.password);
                    }
                    Ok(())
                }
                Err(AppError::Validation(errors)) => {
                    for e in errors {
                        eprintln!("{}: {}", e.field, e.message);
                    }
                    bail!("user not created")
                }
                Err(e) => Err(anyhow::anyhow!("{e}")),
            }
        }
    }
}

/// `duban audit verify|checkpoint`.
fn audit(settings: Settings, command: AuditCommand) -> anyhow::Result<()> {
    use duban::domain::audit_log;

    let outside = match &command {
        AuditCommand::Verify {
            checkpoints: Some(path),
            ..
        } => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            audit_log::read_checkpoint_lines(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        _ => Vec::new(),
    };
    let secrets = Secrets::load(&settings)?;
    let pool = startup::prepare_database(&settings, std::time::Duration::from_secs(30))?;
    let state = startup::build_state(settings, &secrets, pool.clone(), Clock::default())?;
    let mut conn = pool.get()?;
    let now = state.clock.now();
    let fail = |e: AppError| anyhow::anyhow!("{e}");
    match command {
        AuditCommand::Verify {
            chain, from, to, ..
        } => {
            let tz = state.intake.tz;
            let from = from.map(|t| local_instant(&t, tz, false)).transpose()?;
            let to = to.map(|t| local_instant(&t, tz, true)).transpose()?;
            let report = if chain.is_some() || from.is_some() || to.is_some() {
                anyhow::ensure!(
                    outside.is_empty(),
                    "--checkpoints needs the whole log: leave out --chain, --from and --to"
                );
                let part =
                    audit_log::part_of(&mut conn, chain.as_deref(), from, to).map_err(fail)?;
                audit_log::verify_part(&mut conn, &state.audit, &part, now).map_err(fail)?
            } else {
                let mut shown = Progress::default();
                audit_log::verify_all(&mut conn, &state.audit, &outside, now, &mut |p| {
                    shown.show(p)
                })
                .map_err(fail)?
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.ok {
                std::process::exit(1);
            }
            Ok(())
        }
        AuditCommand::Checkpoint => {
            let out = duban::api::audit::checkpoint_out(&state);
            let made = audit_log::checkpoint(&mut conn, &state.audit, &out, now, None)
                .map_err(fail)?
                .context("no checkpoint was made")?;
            println!("{}", serde_json::to_string(&made)?);
            Ok(())
        }
    }
}

/// A local date (the start of that day, or of the next for an end) or an
/// RFC 3339 time, in the stored form.
fn local_instant(
    text: &str,
    tz: chrono_tz::Tz,
    end: bool,
) -> anyhow::Result<chrono::NaiveDateTime> {
    duban::domain::calendar::instant_of(text, tz, end)
        .map(duban::db::to_db)
        .with_context(|| format!("{text}: a date (2026-11-27) or an RFC 3339 time"))
}

/// Progress of a whole verification on standard error: a line when a stage
/// starts and at most every two seconds.
#[derive(Default)]
struct Progress {
    stage: &'static str,
    last: Option<std::time::Instant>,
}

impl Progress {
    fn show(&mut self, p: duban::domain::audit_log::Progress) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(2));
        if p.stage != self.stage || due {
            let share = (p.done * 100)
                .checked_div(p.total)
                .map(|pct| format!(" ({}%)", pct.min(100)))
                .unwrap_or_default();
            let what = match p.stage {
                "chains" => "chain events",
                "log" => "log entries",
                _ => "cases",
            };
            eprintln!("verifying: {} of {} {what}{share}", p.done, p.total);
            self.stage = p.stage;
            self.last = Some(std::time::Instant::now());
        }
    }
}

/// `duban tallies check|rebuild|fold`.
fn tallies(settings: &Settings, command: TalliesCommand) -> anyhow::Result<()> {
    use duban::db::tallies;

    let pool = startup::prepare_database(settings, std::time::Duration::from_secs(30))?;
    let mut conn = pool.get()?;
    match command {
        TalliesCommand::Check => {
            let found = tallies::check(&mut conn)?;
            if found.is_empty() {
                println!("the aggregates equal a fresh count");
                return Ok(());
            }
            println!("{} buckets differ from a fresh count:", found.len());
            for m in found.iter().take(50) {
                println!(
                    "  {} {} {} {:?}: stored {}, counted {}",
                    m.metric, m.grain, m.bucket, m.key, m.stored, m.counted
                );
            }
            println!("`duban tallies rebuild` counts everything afresh.");
            std::process::exit(1);
        }
        TalliesCommand::Rebuild => {
            tallies::rebuild(&mut conn)?;
            println!("the aggregates were counted afresh");
            Ok(())
        }
        TalliesCommand::Fold => {
            println!("{} deltas folded", tallies::fold_all(&mut conn)?);
            Ok(())
        }
    }
}

/// `duban import-units FILE [--dry-run]`: read and check the list, warn of
/// routing rules it leaves without a unit, import it (writing
/// `config/units.toml` unless a dry run), and say what changed.
fn import_units(settings: &Settings, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let units = read_unit_list(settings, file)?;
    warn_of_unrouted_units(settings, &units)?;
    let pool = startup::prepare_database(settings, std::time::Duration::from_secs(30))?;
    let mut conn = pool.get()?;
    let now = chrono::Utc::now();
    let target = settings.config_dir.join("units.toml");
    let report = if dry_run {
        reference::import_units(&mut conn, &units, true, now)?
    } else {
        import_and_write(&mut conn, &units, file, &target, now)?
    };
    print_import_report(&report, units.len(), dry_run);
    if !dry_run {
        println!(
            "{} written: deploy it to every instance (each loads it at start-up)",
            target.display()
        );
    }
    Ok(())
}

/// The units of `file` (CSV by its extension, else TOML), which must hold
/// the office that issues letters; every problem is printed, and none
/// imports anything.
fn read_unit_list(settings: &Settings, file: &Path) -> anyhow::Result<Vec<reference::UnitEntry>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {} (it must be UTF-8)", file.display()))?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let parsed = if is_csv {
        reference::parse_units_csv(&text)
    } else {
        reference::parse_units(&text).map_err(|e| vec![format!("{e:#}")])
    };
    let units = parsed.and_then(|units| {
        let office = &settings.letters.office_unit;
        if units.iter().any(|u| &u.code == office) {
            Ok(units)
        } else {
            Err(vec![format!(
                "the list leaves out {office}, the office that issues letters (letters.office_unit)"
            )])
        }
    });
    units.or_else(|problems| {
        for p in &problems {
            eprintln!("{}: {p}", file.display());
        }
        bail!(
            "nothing imported: {} problem(s) in {}",
            problems.len(),
            file.display()
        )
    })
}

/// Warns of each unit `config/routing.toml` names that the list leaves out.
fn warn_of_unrouted_units(
    settings: &Settings,
    units: &[reference::UnitEntry],
) -> anyhow::Result<()> {
    let rules = duban::domain::routing::Rules::load(
        &settings.config_dir,
        settings.routing.leader_titles.clone(),
    )?;
    for code in rules.named_units() {
        if !units.iter().any(|u| u.code == code) {
            eprintln!("warning: config/routing.toml names {code}, which the list leaves out");
        }
    }
    Ok(())
}

/// Imports the list and replaces `target` with it. The new file waits
/// beside the old one until the database holds the list: a failed import
/// changes neither.
fn import_and_write(
    conn: &mut duban::db::DbConn,
    units: &[reference::UnitEntry],
    file: &Path,
    target: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<reference::ImportReport> {
    let header = format!(
        "Units (责任单位), written by `duban import-units` from {} at {}.\n\
         Loaded at start-up: each [[unit]] is inserted or updated by its code. Edit\n\
         here, or import the county's list again.",
        file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into()
        ),
        now.format("%Y-%m-%d %H:%M UTC")
    );
    let pending = target.with_extension("toml.importing");
    std::fs::write(&pending, reference::units_toml(units, &header)?)
        .with_context(|| format!("writing {}", pending.display()))?;
    match reference::import_units(conn, units, false, now) {
        Ok(report) => {
            std::fs::rename(&pending, target).with_context(|| {
                format!(
                    "the database holds the new list, but {} could not be replaced: \
                     copy {} over it before the next start",
                    target.display(),
                    pending.display()
                )
            })?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            Err(e.context("nothing imported"))
        }
    }
}

/// What an import added, changed, deactivated and left alone.
fn print_import_report(report: &reference::ImportReport, listed: usize, dry_run: bool) {
    let codes = |v: &[String]| {
        if v.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.join(", "))
        }
    };
    println!(
        "{}{} units: {} added{}, {} changed{}, {} deactivated{}, {} unchanged",
        if dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        listed,
        report.added.len(),
        codes(&report.added),
        report.changed.len(),
        codes(&report.changed),
        report.deactivated.len(),
        codes(&report.deactivated),
        report.unchanged
    );
    if report.open_cases_of_deactivated > 0 {
        println!(
            "{} open case(s) stay with the deactivated units until reassigned",
            report.open_cases_of_deactivated
        );
    }
}
