//! `clauderon list --watch`: the list, redrawn when it changes. It looks
//! again (the event logs and one `ps` per engine in use) when an event log
//! changes, but never sooner than a second after the last look, and every
//! few seconds anyway for the containers' states; it clears and redraws
//! with plain ANSI (fine over SSH; no alternate screen), and quits on `q`
//! or Ctrl-C. Without a terminal it prints the list again only when it
//! changed; with `--json`, the whole list as one JSON array per line.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::attention;
use crate::commands::Ctx;
use crate::commands::list;
use crate::error::Result;
use crate::session;

mod input;

pub fn run(ctx: &Ctx, json: bool) -> Result<()> {
    // A reader that goes away (`| head`) ends the loop through EPIPE, so the
    // terminal is put back; SIGPIPE would kill us with it still raw.
    crate::output::end_on_broken_pipe(false);
    let stop = Arc::new(AtomicBool::new(false));
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let mut input = input::Input::open(&ctx.home);
    let redraw = std::io::stdout().is_terminal() && !json;
    let mut shown = String::new();
    let mut before: Option<attention::Snapshot> = None;
    while !stop.load(Ordering::Relaxed) {
        let looked = std::time::Instant::now();
        input.wake.watch_sessions(&ctx.home);
        let Some((rows, warnings, snap)) = attention::look(ctx) else {
            std::thread::sleep(crate::wake::MIN_INTERVAL);
            continue;
        };
        let mut text = if json {
            json_line(&rows)
        } else if rows.is_empty() {
            "No sessions.\n".to_string()
        } else {
            list::table(&rows, session::now())
        };
        // On screen, under the table: stderr's lines would be wiped by
        // the next redraw, and an `unknown` STATE would go unexplained.
        if !json {
            for w in &warnings {
                text.push_str(&format!("clauderon: warning: {w}\n"));
            }
        }
        // Never inside the JSON stream.
        let ring = ctx.config.notify.bell
            && !json
            && before
                .as_ref()
                .is_some_and(|b| !attention::transitions(b, &snap).is_empty());
        // The engine's "Up 5 seconds" changes every second: not a change.
        let key = if json {
            changes_of(&rows)
        } else {
            text.clone()
        };
        if (key != shown || ring) && !show(&text, redraw, ring) {
            // The reader went away (a closed pipe): nothing more to show.
            break;
        }
        shown = key;
        before = Some(snap);
        if input.quit_before_next_look(looked, &stop) {
            break;
        }
    }
    Ok(())
}

fn json_line(rows: &[list::Row]) -> String {
    serde_json::to_string(rows).expect("rows serialize")
}

/// The rows without the engine's status text, to tell a change from time passing.
fn changes_of(rows: &[list::Row]) -> String {
    let mut v = serde_json::to_value(rows).expect("rows serialize");
    for row in v.as_array_mut().into_iter().flatten() {
        if row["state"] == "running" {
            row["status"] = serde_json::Value::Null;
        }
    }
    v.to_string()
}

/// Prints the list; false if stdout is gone.
fn show(text: &str, redraw: bool, ring: bool) -> bool {
    let mut out = std::io::stdout().lock();
    let bell = if ring { "\x07" } else { "" };
    let result = if redraw {
        // Home, clear the screen; \r\n as the terminal's output processing is left on.
        writeln!(out, "{bell}\x1b[H\x1b[2J{text}(q or Ctrl-C quits)")
    } else {
        // A JSON line; a table, then a blank line between tables.
        writeln!(out, "{bell}{text}")
    };
    result.and_then(|()| out.flush()).is_ok()
}
