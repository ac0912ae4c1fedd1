//! `clauderon completions SHELL`: clap_complete's script for the flags,
//! plus session names where a command takes one (`attach <TAB>`), from
//! `clauderon __sessions` (the names in the home: no engine is asked, so
//! a TAB stays instant). The commands that take a name are read from the
//! clap definitions: every subcommand whose first positional is `name`.

use std::io::Write as _;

use clap::Command;
use clap_complete::Shell;

use crate::error::{Error, Result};

/// The subcommands (and their aliases) whose first positional is a session name.
pub fn commands_taking_a_name(cli: &Command) -> Vec<String> {
    cli.get_subcommands()
        .filter(|s| {
            s.get_positionals()
                .next()
                .is_some_and(|a| a.get_id() == "name")
        })
        .flat_map(|s| {
            std::iter::once(s.get_name().to_string()).chain(s.get_all_aliases().map(String::from))
        })
        .collect()
}

/// The script for `shell`, with session names completed.
pub fn script(shell: Shell) -> String {
    let mut cli = <crate::cli::Cli as clap::CommandFactory>::command();
    let names = commands_taking_a_name(&cli);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli, "clauderon", &mut out);
    let generated = String::from_utf8_lossy(&out).into_owned();
    match shell {
        Shell::Bash => generated + &bash(&names),
        Shell::Zsh => zsh(&generated),
        Shell::Fish => generated + &fish(&names),
        _ => generated,
    }
}

/// Wraps clap's `_clauderon`: a name-taking command's first word is a name.
fn bash(names: &[String]) -> String {
    format!(
        r#"
_clauderon_with_sessions() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}"
    case "${{COMP_WORDS[1]}}" in
        {}) if [[ $COMP_CWORD -eq 2 && "$cur" != -* ]]; then
                COMPREPLY=( $(compgen -W "$(clauderon __sessions 2>/dev/null)" -- "$cur") )
                return 0
            fi ;;
    esac
    _clauderon "$@"
}}
complete -F _clauderon_with_sessions -o bashdefault -o default clauderon
"#,
        names.join("|")
    )
}

/// clap's `name` positionals complete with `_clauderon_sessions`.
fn zsh(generated: &str) -> String {
    let marked = generated
        .lines()
        .map(|l| match l.starts_with("':name -- ") {
            true => l.replacen(":_default'", ":_clauderon_sessions'", 1),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Defined before compdef runs the completion function.
    let helper = "_clauderon_sessions() {\n    local -a sessions\n    sessions=(${(f)\"$(clauderon __sessions 2>/dev/null)\"})\n    _describe 'session' sessions\n}\n";
    match marked.split_once('\n') {
        Some((first, rest)) => format!("{first}\n{helper}{rest}\n"),
        None => marked,
    }
}

fn fish(names: &[String]) -> String {
    format!(
        "complete -c clauderon -n \"__fish_seen_subcommand_from {}\" -f -a \"(clauderon __sessions 2>/dev/null)\"\n",
        names.join(" ")
    )
}

/// `clauderon __sessions`: one name per line, from the home's records.
pub fn sessions() -> Result<()> {
    let home = crate::store::Home::from_env()?;
    let mut names: Vec<String> = std::fs::read_dir(home.sessions_dir())
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = std::io::stdout().lock();
    for n in names {
        writeln!(out, "{n}").map_err(|e| Error::io("could not print", e))?;
    }
    Ok(())
}
