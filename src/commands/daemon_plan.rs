//! `clauderon daemon start|stop|restart --dry-run`: what the daemon
//! commands would do, as commands a user could paste.

use crate::cli::DaemonAction;
use crate::commands::Ctx;
use crate::daemon;
use crate::error::{Error, Result};

pub fn print(
    ctx: &Ctx,
    http_port: Option<u16>,
    any_port_if_busy: bool,
    action: Option<DaemonAction>,
) -> Result<()> {
    let Some(action) = action else {
        return Err(Error::input("--dry-run goes with start, stop or restart")
            .with_fix("clauderon daemon start --dry-run"));
    };
    let home = &ctx.home;
    let running = daemon::running(home);
    let name = match action {
        DaemonAction::Start => "start",
        DaemonAction::Stop => "stop",
        DaemonAction::Restart => "restart",
        DaemonAction::Status => "status",
    };
    println!("# clauderon daemon {name} (dry run: nothing was changed)");
    let stop = || match &running {
        Some(info) => println!("kill -TERM {}", info.pid),
        None => println!("# the daemon is not running: nothing to stop"),
    };
    let start = |port: u16| {
        let exe = std::env::current_exe()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "clauderon".into());
        let mut argv = vec![exe, "daemon".into(), "--http-port".into(), port.to_string()];
        if any_port_if_busy || http_port.is_none() {
            argv.push("--any-port-if-busy".into());
        }
        println!(
            "CLAUDERON_HOME={} {} >> {} 2>&1 &",
            shell_words::quote(&home.root.to_string_lossy()),
            shell_words::join(&argv),
            shell_words::quote(&daemon::log_path(home).to_string_lossy())
        );
    };
    let port = http_port
        .or_else(|| running.as_ref().map(|i| i.port))
        .unwrap_or(ctx.config.http_port.value);
    match action {
        DaemonAction::Start => match &running {
            Some(info) => println!(
                "# the daemon runs already (pid {}, port {}): nothing to do",
                info.pid, info.port
            ),
            None => start(port),
        },
        DaemonAction::Stop => stop(),
        DaemonAction::Restart => {
            stop();
            start(port);
        }
        DaemonAction::Status => println!("# status changes nothing"),
    }
    Ok(())
}
