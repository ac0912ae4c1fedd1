//! The docs cannot drift from the CLI: every `clauderon ...` command line in
//! a code block of the README or a page under docs/ parses with the current
//! flag definitions, and every relative link in them names a file that exists.
//!
//! Docs write a command as a reader would type it, with a little notation that
//! is expanded first: `<name>` is a value to fill in (`<command>`: any
//! command), `[--flag X]` is optional (kept), `a|b` offers alternatives (the
//! first is taken), `N` is a number, `...` stands for more arguments, and
//! `# ...` ends the line with a comment. In prose, a span may name a command
//! without its required arguments (`clauderon stop`); its flags must exist.

use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};
use clauderon::cli::Cli;

/// README.md and every page under docs/.
fn doc_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

/// The lines inside fenced code blocks, continuation lines (`\`) joined,
/// each with its line number.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        let (n, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        joined.push_str(line.trim());
        match joined.strip_suffix('\\') {
            Some(head) => pending = Some((n, format!("{} ", head.trim_end()))),
            None => out.push((n, joined)),
        }
    }
    out
}

/// The `clauderon ...` spans of inline code in the prose (outside code
/// blocks; a span may wrap onto the next line), each with its line number.
fn inline_commands(text: &str) -> Vec<(usize, String)> {
    let span = regex::Regex::new(r"`(clauderon [^`]+)`").unwrap();
    let mut out = Vec::new();
    let mut in_block = false;
    let mut paragraph: Vec<(usize, &str)> = Vec::new();
    for (i, line) in text.lines().chain(std::iter::once("")).enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        }
        if !in_block && !line.trim().is_empty() && !line.starts_with("```") {
            paragraph.push((i + 1, line));
            continue;
        }
        let joined: Vec<&str> = paragraph.iter().map(|(_, l)| *l).collect();
        let joined = joined.join(" ");
        let first = paragraph.first().map_or(0, |(n, _)| *n);
        out.extend(
            span.captures_iter(&joined)
                .map(|c| (first, c[1].to_string())),
        );
        paragraph.clear();
    }
    out
}

/// The line up to a `#` that starts a comment (outside quotes, after a space).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// The commands on one shell line: split at `&&`, `||`, `;`, ` | ` and
/// inside `$(...)`; only those that run `clauderon` are kept.
fn clauderon_commands(line: &str) -> Vec<String> {
    let line = strip_comment(line).replace("$(", " ; ").replace(')', " ");
    line.split("&&")
        .flat_map(|s| s.split("||"))
        .flat_map(|s| s.split(';'))
        .flat_map(|s| s.split(" | "))
        .map(str::trim)
        .filter(|s| s.starts_with("clauderon ") || *s == "clauderon")
        .map(str::to_string)
        .collect()
}

/// argv of a documented command, its notation expanded.
fn argv_of(command: &str) -> Vec<String> {
    let placeholder = regex::Regex::new(r"<([A-Za-z_-]+)>").unwrap();
    let filled = placeholder.replace_all(command, |c: &regex::Captures| match &c[1] {
        "command" => "list".to_string(),
        other => other.to_lowercase(),
    });
    let unbracketed = filled.replace(['[', ']'], " ");
    // An unquoted `...` elides arguments; a quoted one is a value.
    let kept: Vec<&str> = unbracketed.split(' ').filter(|w| *w != "...").collect();
    let words = shell_words::split(&kept.join(" "))
        .unwrap_or_else(|e| panic!("`{command}` is not a shell command line: {e}"));
    words
        .into_iter()
        .map(|w| match w.split_once('|') {
            Some((first, _)) if !w.contains(' ') => first.to_string(),
            _ if w == "N" => "1".to_string(),
            _ => w,
        })
        .collect()
}

/// Why the CLI refuses this argv, if it does. A command named in prose may
/// leave out its required arguments.
fn refusal(argv: &[String], in_prose: bool) -> Option<String> {
    let matches = match Cli::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if in_prose && e.kind() == ErrorKind::MissingRequiredArgument => return None,
        Err(e) => return Some(e.to_string()),
    };
    let cli = Cli::from_arg_matches(&matches).expect("matches from Cli's own command");
    cli.json_refused().map(|e| e.to_string())
}

#[test]
fn every_documented_command_line_parses() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let blocks = code_lines(&text).into_iter().map(|(n, l)| (n, l, false));
        let prose = inline_commands(&text)
            .into_iter()
            .map(|(n, l)| (n, l, true));
        for (line_no, line, in_prose) in blocks.chain(prose) {
            for command in clauderon_commands(&line) {
                let argv = argv_of(&command);
                checked += 1;
                if let Some(why) = refusal(&argv, in_prose) {
                    let first = why.lines().next().unwrap_or_default().to_string();
                    failures.push(format!(
                        "{}:{line_no}: `{command}`: {first}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked >= 100,
        "only {checked} command lines found in the docs"
    );
}

#[test]
fn the_notation_is_expanded_as_documented() {
    let line = "T=$(clauderon api token) && clauderon logs <name> -f   # follow";
    let commands = clauderon_commands(line);
    assert_eq!(
        commands,
        ["clauderon api token", "clauderon logs <name> -f"]
    );
    assert_eq!(
        argv_of("clauderon image check IMAGE --backend docker|podman [--json]"),
        [
            "clauderon",
            "image",
            "check",
            "IMAGE",
            "--backend",
            "docker",
            "--json"
        ]
    );
    assert_eq!(
        argv_of("clauderon -v <command>"),
        ["clauderon", "-v", "list"]
    );
    assert_eq!(
        argv_of("clauderon create ... --prompt \"...\""),
        ["clauderon", "create", "--prompt", "..."]
    );
    // A refusal is reported, so the test above can fail.
    assert!(refusal(&argv_of("clauderon create --no-such-flag"), true).is_some());
    assert!(refusal(&argv_of("clauderon logs web --json"), false).is_some());
    assert!(refusal(&argv_of("clauderon stop"), false).is_some());
    assert!(refusal(&argv_of("clauderon stop"), true).is_none());
    assert!(refusal(&argv_of("clauderon stop --no-such-flag"), true).is_some());
    let prose = "Run `clauderon delete --force\n<name>` or `clauderon stop`.\n\n`clauderon x`";
    let spans = inline_commands(prose);
    assert_eq!(
        spans,
        [
            (1, "clauderon delete --force <name>".to_string()),
            (1, "clauderon stop".to_string()),
            (4, "clauderon x".to_string())
        ]
    );
    let joined = code_lines("```bash\nclauderon create --repo . \\\n    --prompt \"x y\"\n```\n");
    assert_eq!(
        joined,
        [(2, "clauderon create --repo . --prompt \"x y\"".into())]
    );
}

#[test]
fn every_relative_link_in_the_docs_names_a_file() {
    let link = regex::Regex::new(r"\]\(([^)#\s]+)(#[^)]*)?\)").unwrap();
    let mut broken = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = file.parent().unwrap();
        for target in link.captures_iter(&text).map(|c| c[1].to_string()) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            if !dir.join(&target).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to files that do not exist:\n{}",
        broken.join("\n")
    );
}
