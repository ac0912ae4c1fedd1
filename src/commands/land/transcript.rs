//! `clauderon transcript NAME`: the conversation, readable: prompts, the
//! assistant's text, tool calls (name and one line of input), tool results
//! (cut, with a marker), grouped in turns with their times. `-f` follows;
//! `--json` prints one turn per line (with -f, one item per line as it comes).

use serde_json::json;

use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::transcript::{self, Entry, Kind};

pub fn run(ctx: &Ctx, name: &str, follow: bool) -> Result<()> {
    let spec = ctx.home.load(name)?;
    let mut shown = 0;
    let mut turn = 0;
    loop {
        let entries = read(&ctx.home, &spec)?;
        let new = entries.get(shown..).unwrap_or_default();
        if crate::output::json() && !follow {
            print_turns_json(new);
        } else {
            for e in new {
                turn += usize::from(e.kind == Kind::Prompt);
                print_entry(e, turn.max(1));
            }
        }
        shown = entries.len().max(shown);
        if !follow {
            if entries.is_empty() && !crate::output::json() {
                crate::output::note(format!("session {name} has no conversation yet"));
            }
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn read(home: &crate::store::Home, spec: &crate::session::SessionSpec) -> Result<Vec<Entry>> {
    let Some((root, rel)) = transcript::locate(home, spec) else {
        return Ok(Vec::new());
    };
    let records = transcript::records(&root, &rel).map_err(|e| {
        Error::failed(format!(
            "the transcript {} cannot be read: {e}",
            root.join(&rel).display()
        ))
        .with_fix("it must be a regular file (a link there is not followed)")
    })?;
    Ok(transcript::entries(spec.agent, &records))
}

/// Turns: each starts at a prompt (items before the first prompt are turn 1's).
fn print_turns_json(entries: &[Entry]) {
    let mut turns: Vec<Vec<&Entry>> = Vec::new();
    for e in entries {
        if e.kind == Kind::Prompt || turns.is_empty() {
            turns.push(Vec::new());
        }
        turns.last_mut().expect("a turn").push(e);
    }
    for (i, items) in turns.iter().enumerate() {
        let started = items.iter().find_map(|e| e.time.clone());
        let ended = items.iter().rev().find_map(|e| e.time.clone());
        let prompt = items
            .iter()
            .find(|e| e.kind == Kind::Prompt)
            .map(|e| &e.text);
        let line = json!({"turn": i + 1, "started": started, "ended": ended, "prompt": prompt, "items": items});
        println!("{line}");
    }
}

fn print_entry(e: &Entry, turn: usize) {
    if crate::output::json() {
        let mut v = serde_json::to_value(e).expect("json serializes");
        v["turn"] = turn.into();
        println!("{v}");
        return;
    }
    let time = e.time.as_deref().unwrap_or("");
    match e.kind {
        Kind::Prompt => {
            println!("\n=== turn {turn}  {time}");
            for line in e.text.lines() {
                println!("> {line}");
            }
        }
        Kind::Assistant => println!("{}", e.text.trim_end()),
        Kind::ToolCall => println!("  -> {}: {}", e.tool.as_deref().unwrap_or("tool"), e.text),
        Kind::ToolResult => {
            for line in e.text.lines() {
                println!("     | {line}");
            }
        }
    }
}
