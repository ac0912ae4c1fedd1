use clap::Parser;

use clauderon::cli::{
    AgentImageCommand, ApiCommand, Cli, Command, ConfigCommand, DaemonAction, DaemonImageCommand,
    ImageCommand, KubeCommand, ProxyCommand,
};
use clauderon::commands::{self, Ctx};
use clauderon::error::Result;
use clauderon::plan::Mode;

fn main() {
    // `clauderon list | head` ends quietly, like any Unix tool.
    clauderon::output::end_on_broken_pipe(true);
    let cli = parse_args();
    clauderon::exec::VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    clauderon::output::set(cli.json, cli.quiet);
    let code = match cli.json_refused().map_or_else(|| run(cli), Err) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("clauderon: error: {err}");
            clauderon::api::child::answer_error(&err);
            err.exit_code()
        }
    };
    std::process::exit(code);
}

/// The command line; for the HTTP API's child, a refused one is a typed
/// answer too (clap's own errors have no kind).
fn parse_args() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && clauderon::api::child::is_child() => {
            let why = e.to_string();
            let first = why.lines().next().unwrap_or("invalid arguments");
            let err = clauderon::error::Error::input(first.trim_start_matches("error: "));
            clauderon::api::child::answer_error(&err);
            e.exit()
        }
        Err(e) => e.exit(),
    }
}

fn run(cli: Cli) -> Result<i32> {
    if print_generated(&cli.command)? {
        return Ok(0);
    }
    let ctx = context_for(&cli.command)?;
    let json = cli.json;
    match cli.command {
        Command::Create(args) => commands::create::run(&ctx, *args)?,
        Command::List { watch } => commands::list::run(&ctx, json, watch)?,
        command @ (Command::Attach { .. }
        | Command::Upload { .. }
        | Command::Logs { .. }
        | Command::Stop { .. }
        | Command::Start { .. }
        | Command::Refresh { .. }
        | Command::Delete { .. }
        | Command::Pull { .. }
        | Command::Kube { .. }) => return session(&ctx, command),
        Command::CleanCache {
            force,
            backend,
            dry_run,
        } => commands::clean_cache::run(&ctx, backend, force, Mode::from_dry_run(dry_run))?,
        Command::Status { name, deleted } => match name.filter(|_| !deleted) {
            Some(name) => commands::status::status(&ctx, &name, json)?,
            None => commands::land::recovery::print(&ctx.home)?,
        },
        command @ (Command::Diff(_)
        | Command::Transcript(_)
        | Command::Send(_)
        | Command::Merge(_)
        | Command::Pr(_)) => commands::land::dispatch(&ctx, command)?,
        command @ (Command::Approve { .. } | Command::Deny { .. } | Command::Policy { .. }) => {
            policy(&ctx, command, json)?
        }
        Command::Events { name, follow, all } => events(&ctx, name, follow, all, json)?,
        command @ Command::Daemon { .. } => return daemon(&ctx, command),
        Command::Proxy { command } => proxy(&ctx, command, json)?,
        Command::Image { command } => return image(&ctx, command, json),
        command @ (Command::AgentImage { .. } | Command::DaemonImage { .. }) => {
            build_image(&ctx, command)?
        }
        Command::Doctor => return commands::doctor::run(&ctx, json),
        Command::Api {
            command: ApiCommand::Token { rotate },
        } => commands::api_token(&ctx, rotate, json)?,
        Command::Config {
            command: ConfigCommand::Show,
        } => match json {
            true => clauderon::output::print_json(&ctx.config.show_json(&ctx.home.root)),
            false => print!("{}", ctx.config.show(&ctx.home.root)),
        },
        Command::Budget { name, set, add } => commands::budget::run(&ctx, &name, set, add, json)?,
        Command::Usage { since, by } => commands::usage::run(&ctx, since.as_deref(), by, json)?,
        // Printed before the home was loaded (above).
        Command::Completions { .. } | Command::Man { .. } | Command::Sessions => {}
    }
    Ok(0)
}

/// The daemon's commands; `daemon status` exits 1 when it is not running.
fn daemon(ctx: &Ctx, command: Command) -> Result<i32> {
    let Command::Daemon {
        http_port,
        any_port_if_busy,
        dry_run,
        action,
        cluster_dir,
        listen,
        proxy_port,
    } = command
    else {
        unreachable!("only the daemon command is passed here")
    };
    if cluster_dir.is_some() && (action.is_some() || dry_run) {
        return Err(clauderon::error::Error::input(
            "--cluster-dir runs the in-cluster daemon in the foreground: it goes with no subcommand and no --dry-run",
        )
        .with_fix("clauderon daemon --cluster-dir DIR (what the kube setup Deployment runs)"));
    }
    match (action, cluster_dir) {
        (Some(DaemonAction::Statuses { session }), _) => {
            clauderon::cluster::statuses::print(&ctx.home, session.as_deref()).map(|()| 0)
        }
        (Some(DaemonAction::Status), _) => {
            commands::daemon_plan::status(ctx, Mode::from_dry_run(dry_run))
        }
        (Some(action), _) => {
            commands::daemon_plan::run(ctx, http_port, action, Mode::from_dry_run(dry_run))
                .map(|()| 0)
        }
        (None, Some(dir)) => clauderon::daemon::run_in_cluster(
            &ctx.home,
            clauderon::daemon::ClusterOptions::new(dir, listen, http_port, proxy_port),
        )
        .map(|()| 0),
        (None, None) if dry_run => Err(clauderon::error::Error::input(
            "--dry-run goes with start, stop or restart",
        )
        .with_fix("clauderon daemon start --dry-run")),
        (None, None) => {
            let port = http_port.unwrap_or(ctx.config.http_port.value);
            clauderon::daemon::run(&ctx.home, port, any_port_if_busy).map(|()| 0)
        }
    }
}

/// The proxy policy's commands: a session's hosts allowed or denied.
fn policy(ctx: &Ctx, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Approve {
            name,
            host,
            session,
            always,
            ..
        } => commands::policy::approve(ctx, &name, &host, session, always),
        Command::Deny { name, host } => commands::policy::run(
            ctx,
            &name,
            Some(clauderon::cli::PolicyAction::Deny),
            Some(&host),
            false,
            json,
        ),
        Command::Policy {
            name,
            action,
            host,
            suggest,
        } => commands::policy::run(ctx, &name, action, host.as_deref(), suggest, json),
        _ => unreachable!("only policy commands are passed here"),
    }
}

/// `events NAME`, or `events --all`; with neither it is refused.
fn events(ctx: &Ctx, name: Option<String>, follow: bool, all: bool, json: bool) -> Result<()> {
    match (name, all) {
        (Some(name), _) => commands::status::events(ctx, &name, follow, json),
        (None, true) => commands::status::all_events(ctx, follow, json),
        (None, false) => Err(clauderon::error::Error::input(
            "events needs a session's name, or --all for every session's",
        )
        .with_fix(
            "clauderon events NAME (`clauderon list` shows the names), or clauderon events --all",
        )),
    }
}

/// The images clauderon builds: the agent CLI's (Podman sessions mount it)
/// and the in-cluster daemon's.
fn build_image(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::AgentImage {
            command:
                AgentImageCommand::Build {
                    from,
                    agent,
                    backend,
                    version,
                    update,
                    dry_run,
                },
        } => {
            let source = commands::agent_image::Source {
                from: from.as_deref(),
                version: version.as_deref(),
                update,
            };
            commands::agent_image::build(ctx, source, agent, backend, Mode::from_dry_run(dry_run))
        }
        Command::DaemonImage {
            command: DaemonImageCommand::Build { backend, dry_run },
        } => commands::daemon_image::build(ctx, backend, Mode::from_dry_run(dry_run)),
        _ => unreachable!("only image builds are passed here"),
    }
}

fn image(ctx: &Ctx, command: ImageCommand, json: bool) -> Result<i32> {
    match command {
        ImageCommand::Check {
            image,
            backend,
            agent,
        } => commands::image::check(ctx, &image, backend, agent, json),
        ImageCommand::Search {
            term,
            backend,
            limit,
        } => commands::image::search(ctx, &term, backend, limit, json).map(|()| 0),
        ImageCommand::List { backend, agent } => {
            commands::image::list(ctx, backend, agent, json).map(|()| 0)
        }
        ImageCommand::Pull {
            reference,
            backend,
            dry_run,
        } => {
            commands::image::pull(ctx, &reference, backend, Mode::from_dry_run(dry_run)).map(|()| 0)
        }
    }
}

/// Completions and the man page: generated from the same clap definitions,
/// they need no home or config. True if the command was one of them.
fn print_generated(command: &Command) -> Result<bool> {
    match command {
        Command::Completions { shell } => print!("{}", commands::completions::script(*shell)),
        Command::Sessions => commands::completions::sessions()?,
        Command::Man { out_dir } => commands::man::run(out_dir.as_deref())?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Commands that only take things down go on with the built-in defaults
/// when config.toml is broken (with a warning); the rest stop at it.
fn context_for(command: &Command) -> Result<Ctx> {
    let takes_down = matches!(
        command,
        Command::Stop { .. }
            | Command::Delete { .. }
            | Command::Daemon {
                action: Some(DaemonAction::Stop),
                ..
            }
    );
    if takes_down {
        Ctx::load_lenient()
    } else {
        Ctx::load()
    }
}

fn proxy(ctx: &Ctx, command: ProxyCommand, json: bool) -> Result<()> {
    match command {
        ProxyCommand::Ca { rotate, dry_run } => {
            commands::proxy::ca(ctx, rotate, Mode::from_dry_run(dry_run))
        }
        ProxyCommand::Log { verify: true, .. } => commands::proxy::verify(ctx, json),
        ProxyCommand::Log {
            session, follow, ..
        } => commands::proxy::log(ctx, session.as_deref(), follow, json),
    }
}

/// The commands on one session (and the cluster it may run on).
fn session(ctx: &Ctx, command: Command) -> Result<i32> {
    match command {
        Command::Attach { name, dry_run } => {
            return commands::lifecycle::attach(ctx, &name, Mode::from_dry_run(dry_run));
        }
        Command::Logs { name, follow, tail } => {
            return commands::lifecycle::logs(ctx, &name, follow, tail);
        }
        Command::Stop { name, dry_run } => {
            commands::lifecycle::stop(ctx, &name, Mode::from_dry_run(dry_run))?
        }
        Command::Start { name, dry_run } => {
            commands::lifecycle::start(ctx, &name, Mode::from_dry_run(dry_run))?
        }
        Command::Refresh {
            name,
            no_pull,
            dry_run,
        } => commands::refresh::run(ctx, &name, no_pull, Mode::from_dry_run(dry_run))?,
        Command::Delete {
            name,
            force,
            delete_branch,
            discard,
            dry_run,
        } => {
            let flags = commands::delete::DeleteFlags {
                force,
                discard,
                delete_branch,
                mode: Mode::from_dry_run(dry_run),
            };
            commands::delete::run(ctx, &name, flags)?
        }
        Command::Pull { name, dry_run } => {
            commands::kube::pull::run(ctx, &name, Mode::from_dry_run(dry_run))?
        }
        Command::Upload {
            name,
            files,
            dry_run,
        } => commands::upload::run(ctx, &name, &files, Mode::from_dry_run(dry_run))?,
        Command::Kube {
            command:
                KubeCommand::Setup {
                    context,
                    namespace,
                    dry_run,
                },
        } => commands::kube::setup::run(ctx, context, namespace, Mode::from_dry_run(dry_run))?,
        _ => unreachable!("only session commands are passed here"),
    }
    Ok(0)
}
