use clap::Parser;

use clauderon::cli::{
    AgentImageCommand, Cli, Command, ConfigCommand, ImageCommand, KubeCommand, ProxyCommand,
};
use clauderon::commands::{self, Ctx};
use clauderon::error::Result;

fn main() {
    // `clauderon list | head` ends quietly, like any Unix tool.
    // SAFETY: restoring the default disposition of SIGPIPE at start-up.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    clauderon::exec::VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    let code = match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("clauderon: error: {err}");
            err.code
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    // Generated from the same clap definitions; they need no home or config.
    match &cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "clauderon", &mut std::io::stdout());
            return Ok(0);
        }
        Command::Man => {
            let man = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            man.render(&mut std::io::stdout())
                .map_err(|e| clauderon::error::Error::io("could not write the man page", e))?;
            return Ok(0);
        }
        _ => {}
    }
    let ctx = Ctx::load()?;
    match cli.command {
        Command::Create(args) => commands::create::run(&ctx, *args)?,
        Command::List { json } => commands::list::run(&ctx, json)?,
        Command::Attach { name, dry_run } => {
            return commands::lifecycle::attach(&ctx, &name, dry_run);
        }
        Command::Logs { name, follow, tail } => {
            return commands::lifecycle::logs(&ctx, &name, follow, tail);
        }
        Command::Stop { name, dry_run } => commands::lifecycle::stop(&ctx, &name, dry_run)?,
        Command::Start { name, dry_run } => commands::lifecycle::start(&ctx, &name, dry_run)?,
        Command::Refresh {
            name,
            no_pull,
            dry_run,
        } => commands::refresh::run(&ctx, &name, no_pull, dry_run)?,
        Command::Delete {
            name,
            force,
            delete_branch,
            discard,
            dry_run,
        } => commands::delete::run(
            &ctx,
            &name,
            commands::delete::DeleteFlags {
                force,
                discard,
                delete_branch,
                dry_run,
            },
        )?,
        Command::Pull { name, dry_run } => commands::kube::pull::run(&ctx, &name, dry_run)?,
        Command::Kube {
            command:
                KubeCommand::Setup {
                    context,
                    namespace,
                    dry_run,
                },
        } => commands::kube::setup::run(&ctx, context, namespace, dry_run)?,
        Command::CleanCache {
            force,
            backend,
            dry_run,
        } => commands::clean_cache::run(&ctx, backend, force, dry_run)?,
        Command::Status { name, json } => commands::status::status(&ctx, &name, json)?,
        Command::Events { name, follow, json } => {
            commands::status::events(&ctx, &name, follow, json)?
        }
        Command::Daemon {
            http_port,
            any_port_if_busy,
            dry_run: true,
            action,
        } => commands::daemon_plan::print(&ctx, http_port, any_port_if_busy, action)?,
        Command::Daemon {
            http_port,
            any_port_if_busy,
            action,
            ..
        } => commands::status::daemon(&ctx, http_port, any_port_if_busy, action)?,
        Command::Proxy {
            command: ProxyCommand::Ca { rotate, dry_run },
        } => commands::proxy::ca(&ctx, rotate, dry_run)?,
        Command::Proxy {
            command:
                ProxyCommand::Log {
                    session,
                    follow,
                    json,
                },
        } => commands::proxy::log(&ctx, session.as_deref(), follow, json)?,
        Command::Image { command } => match command {
            ImageCommand::Check {
                image,
                backend,
                agent,
                json,
            } => {
                return commands::image::check(&ctx, &image, backend, agent, json);
            }
            ImageCommand::List {
                backend,
                agent,
                json,
            } => commands::image::list(&ctx, backend, agent, json)?,
            ImageCommand::Pull {
                reference,
                backend,
                dry_run,
            } => commands::image::pull(&ctx, &reference, backend, dry_run)?,
        },
        Command::AgentImage {
            command:
                AgentImageCommand::Build {
                    from,
                    agent,
                    backend,
                    dry_run,
                },
        } => commands::image::build(&ctx, from.as_deref(), agent, backend, dry_run)?,
        Command::Config {
            command: ConfigCommand::Show,
        } => print!("{}", ctx.config.show(&ctx.home.root)),
        // Printed before the home was loaded (above).
        Command::Completions { .. } | Command::Man => {}
    }
    Ok(0)
}
