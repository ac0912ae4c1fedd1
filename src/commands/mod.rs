//! One module per user-facing command. Each builds a plan from the session
//! record and the engine's state, then prints it (`--dry-run`) or runs it.

pub mod agent_image;
pub mod budget;
pub mod clean_cache;
pub mod completions;
pub mod create;
pub mod daemon_image;
pub mod daemon_plan;
pub mod delete;
pub(crate) mod delete_checks;
pub mod doctor;
pub mod flow;
pub mod image;
pub mod kube;
pub mod land;
pub mod lifecycle;
pub mod list;
pub mod list_proxy;
pub mod man;
pub mod policy;
pub mod proxy;
pub mod refresh;
pub mod status;
mod status_setup;
pub mod text_input;
pub mod upload;
pub mod usage;
pub mod watch;
pub mod wiring;

use crate::backend::oci::Engine;
// What a container is doing: the backend observes it.
pub use crate::backend::{ContainerState, observe_container};
// The config layer owns the context every command starts from.
pub use crate::config::Ctx;
use crate::error::Result;
pub use crate::plan::Mode;
use crate::plan::Plan;

/// Is the engine there and answering? Its `version` output, or an error
/// that names the fix.
pub fn probe_engine(engine: &Engine) -> Result<String> {
    engine
        .version()
        .run()
        .map(|out| out.stdout)
        .map_err(|f| engine.classify(f))
}

/// The one way a plan leaves a command (see `Plan::finish`).
pub fn print_or_execute(what: &str, plan: &Plan, mode: Mode) -> Result<i32> {
    plan.finish(what, mode)
}

/// `clauderon api token [--rotate]`: the token, and where the API listens.
pub fn api_token(ctx: &Ctx, rotate: bool, json: bool) -> Result<()> {
    use crate::api::token;
    let value = if rotate {
        token::rotate(&ctx.home)?
    } else {
        token::load_or_create(&ctx.home)?
    };
    let listen = ctx.config.api_listen.as_ref().map(|l| l.to_string());
    if json {
        crate::output::print_json(&serde_json::json!({
            "token": value,
            "file": token::path(&ctx.home),
            "listen": listen,
        }));
        return Ok(());
    }
    println!("{value}");
    if listen.is_none() {
        crate::output::note(
            "note: the API is off; set [api] listen = \"127.0.0.1:8080\" in config.toml, then `clauderon daemon restart`",
        );
    }
    Ok(())
}
