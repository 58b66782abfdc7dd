//! The `duban` command: subcommands only.

use std::io::Read;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use duban::auth::password;
use duban::auth::policy::Role;
use duban::config::{Secrets, Settings};
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
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; prints a generated password unless one is piped in.
    Add {
        #[arg(long)]
        username: String,
        /// admin, supervisor, operator, unit or auditor.
        #[arg(long)]
        role: String,
        /// The unit code, for role unit.
        #[arg(long)]
        unit: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load()?;
    duban::telemetry::init(settings.env);
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
