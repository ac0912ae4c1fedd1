//! `clauderon man`: the man page, and with `--out-dir` one page per
//! subcommand too (`clauderon-create.1`, `clauderon-daemon-start.1`, ...),
//! since the main page refers to them as `clauderon-create(1)`.

use std::path::Path;

use crate::error::{Error, Result};

/// The main page on stdout, or every page written into `out_dir`.
pub fn run(out_dir: Option<&Path>) -> Result<()> {
    let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    let Some(dir) = out_dir else {
        return clap_mangen::Man::new(cmd)
            .render(&mut std::io::stdout())
            .map_err(|e| Error::io("could not write the man page", e));
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("could not make {}", dir.display()), e))?;
    let mut written = Vec::new();
    write_pages(dir, cmd, "clauderon", true, &mut written)?;
    crate::output::info(format!(
        "Wrote {} man pages into {} (clauderon.1 and one per subcommand).",
        written.len(),
        dir.display()
    ));
    Ok(())
}

/// `cmd`'s page as `name.1`, then each subcommand's as `name-sub.1`.
fn write_pages(
    dir: &Path,
    cmd: clap::Command,
    name: &str,
    recurse: bool,
    written: &mut Vec<String>,
) -> Result<()> {
    let mut cmd = cmd.name(name.to_string());
    // Built, so the `help` subcommand clap adds (and pages name) is listed.
    cmd.build();
    let path = dir.join(format!("{name}.1"));
    let mut bytes = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut bytes)
        .map_err(|e| Error::io("could not render a man page", e))?;
    std::fs::write(&path, bytes)
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))?;
    written.push(name.to_string());
    if !recurse {
        return Ok(());
    }
    // `help` too (a page with subcommands names its `help` page), but not
    // help's own copies of the subcommands.
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_name = format!("{name}-{}", sub.get_name());
        let recurse = sub.get_name() != "help";
        let page = match recurse {
            true => sub.clone(),
            // `help` alone: what it does, not help's copy of every subcommand.
            false => clap::Command::new("help")
                .about(sub.get_about().cloned().unwrap_or_default())
                .disable_help_flag(true),
        };
        write_pages(dir, page, &sub_name, recurse, written)?;
    }
    Ok(())
}
