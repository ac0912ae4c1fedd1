//! How results reach the user: `--json` for scripts, `-q/--quiet` for
//! fewer words. Set once from the command line, read where output is made.

use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

pub fn set(json: bool, quiet: bool) {
    JSON.store(json, Ordering::Relaxed);
    QUIET.store(quiet, Ordering::Relaxed);
}

/// What a write to a closed pipe does: end the process quietly, as
/// SIGPIPE's default action does (`clauderon list | head`), or only fail
/// with EPIPE (`list --watch` must put the terminal back first). A
/// signal-hook handler that runs the default action while the flag is set
/// does this without an unsafe `signal(2)` (Rust starts with SIGPIPE ignored).
pub fn end_on_broken_pipe(end: bool) {
    static ENDS: std::sync::OnceLock<std::sync::Arc<AtomicBool>> = std::sync::OnceLock::new();
    let flag = ENDS.get_or_init(|| {
        let flag = std::sync::Arc::new(AtomicBool::new(end));
        let sigpipe = signal_hook::consts::SIGPIPE;
        // Fails only for a forbidden signal, which SIGPIPE is not.
        let _ = signal_hook::flag::register_conditional_default(sigpipe, flag.clone());
        flag
    });
    flag.store(end, Ordering::SeqCst);
}

/// `--json`: results (or, with `--dry-run`, the plan) as JSON on stdout.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// `-q/--quiet`: informational lines are left out (errors and warnings stay).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// An informational line on stdout ("Stopped x."), unless quiet or JSON.
pub fn info(line: impl std::fmt::Display) {
    if !quiet() && !json() {
        println!("{line}");
    }
}

/// A note on stderr (what clauderon is doing, hints), unless quiet.
pub fn note(line: impl std::fmt::Display) {
    if !quiet() {
        eprintln!("clauderon: {line}");
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
    );
}
