//! The layers of `src/`, enforced: a module imports only its own layer and
//! those below it (see `docs/architecture.md`). The test reads every
//! `crate::` path in `src/` (and `super::` paths that climb to the crate
//! root), so an upward import fails `cargo test` with the file and line.

use std::path::{Path, PathBuf};

/// Every top-level module and its layer, lowest first. A new module gets a
/// row here; one missing fails the test, so nobody places it by accident.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "error",
            "exec",
            "validate",
            "safe_fs",
            "jsonl",
            "limits",
            "isolation",
            "output",
            "clock",
            "ids",
            "atomic_write",
            "serve",
            "usd",
        ],
    ),
    ("spec", &["spec", "agent_options"]),
    ("core data", &["session", "store", "plan"]),
    (
        "services",
        &[
            "agent",
            "codex",
            "git",
            "worktree",
            "mounts",
            "uploads",
            "proxy",
            "hooks",
            "cluster",
            "notify",
            "wake",
            "helper",
            "transcript",
            "pull_request",
            "mcp",
            "user_config",
        ],
    ),
    ("backends", &["backend", "image", "rows"]),
    ("daemon", &["config", "daemon", "api", "attention"]),
    ("executor", &["executor"]),
    // devcontainer.json is one more source of create's flags (CreateArgs).
    (
        "commands",
        &["commands", "cli", "devcontainer", "main", "lib", "layers"],
    ),
];

/// Imports that break the layers and are known, each with why: a list
/// that only shrinks. (file, imported module)
const KNOWN: &[(&str, &str)] = &[];

/// What the data layers may never reach, whatever the table says.
const DATA: &[&str] = &["spec", "plan", "session"];
const NOT_FROM_DATA: &[&str] = &["backend", "daemon", "proxy", "api", "commands"];

/// `BackendKind::Kubernetes` in `src/commands/`: backends own their plans,
/// so commands ask the backend (`Backend`'s verbs, `BackendKind`'s
/// capabilities in `backend/kind.rs`) instead of matching the kind. The
/// count may only go down. (19 when the test came, 21 with the
/// devcontainer and MCP work; 12 once the plans moved into `backend/`;
/// 6 once stop, logs, status and events asked the backend; 1 once
/// `create`, `attach`, `start`, `refresh` and `delete` handed the session
/// to its flow (`commands/flow.rs`, the one match: a cluster's flow
/// gathers other facts than this host's) and create's default image was
/// config's answer (`Config::default_image_for`).)
const KUBERNETES_MATCHES_IN_COMMANDS: usize = 1;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// Every `.rs` file below `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The module path of a file: `src/backend/oci.rs` is `[backend, oci]`,
/// `src/backend/mod.rs` is `[backend]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules a `crate::` path names: `crate::a::b` names `a`,
/// `crate::{a::b, c}` names `a` and `c`.
fn named_after_crate(rest: &str) -> Vec<String> {
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest).to_string()];
    };
    let (mut depth, mut names, mut start) = (0, Vec::new(), true);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                names.push(ident(&group[i..]).to_string());
                start = false;
            }
            _ => {}
        }
    }
    names
}

/// The top-level modules one line imports, with `super::` chains resolved
/// from `module` (a file's own module path; `tests` modules inside it are
/// one deeper, so a chain is counted only when it climbs out of the crate
/// from the file's level).
fn imports_of(line: &str, module: &[String]) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut found = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `clauderon_crate::`, not ours
        }
        found.extend(named_after_crate(&code[i + "crate::".len()..]));
    }
    for (i, _) in code.match_indices("super::") {
        if code[..i].ends_with("super::") {
            continue; // counted from the first `super::` of the chain
        }
        let mut rest = &code[i..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        if climbs == module.len() {
            found.extend(named_after_crate(rest));
        }
    }
    found.retain(|m| !m.is_empty() && m != "self" && m != "super");
    found
}

/// (file:line, importer, imported) for every import between top-level modules.
fn imports(src: &Path) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for file in sources(src) {
        let mut module = module_path(src, &file);
        let top = module.first().cloned().unwrap_or_default();
        if top == "layers" {
            continue; // its tests quote imports
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Inside an inline module (`mod tests {`), `super::` is one
            // level shorter; such modules come last, so one never ends.
            let code = line.split("//").next().unwrap_or("");
            if code.trim_start().starts_with("mod ") && code.trim_end().ends_with('{') {
                module.push("(inline)".into());
            }
            for imported in imports_of(line, &module) {
                if imported != top {
                    let at = format!("{}:{}", file.display(), n + 1);
                    all.push((at, top.clone(), imported));
                }
            }
        }
    }
    all
}

/// What is wrong with the imports of `src`, one line each.
fn violations(src: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    for (at, from, to) in imports(src) {
        let file = at.rsplit_once(':').map_or(at.as_str(), |(f, _)| f);
        if KNOWN
            .iter()
            .any(|(f, m)| file.ends_with(&format!("src/{f}")) && *m == to)
        {
            continue;
        }
        let (Some(lf), Some(lt)) = (layer_of(&from), layer_of(&to)) else {
            let missing = if layer_of(&from).is_none() {
                &from
            } else {
                &to
            };
            wrong.push(format!(
                "{at}: module `{missing}` has no layer: add it to LAYERS in src/layers.rs"
            ));
            continue;
        };
        if lt > lf {
            wrong.push(format!(
                "{at}: `{from}` ({}) imports `{to}` ({}), a layer above it",
                LAYERS[lf].0, LAYERS[lt].0
            ));
        } else if DATA.contains(&from.as_str()) && NOT_FROM_DATA.contains(&to.as_str()) {
            wrong.push(format!("{at}: `{from}` is data and imports `{to}`"));
        }
    }
    wrong
}

/// Lines of `src/commands/` that name `BackendKind::Kubernetes`.
fn kubernetes_matches(src: &Path) -> Vec<String> {
    let mut hits = Vec::new();
    for file in sources(&src.join("commands")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("BackendKind::Kubernetes") {
                hits.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    hits
}

#[test]
fn imports_only_go_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let wrong = violations(&src);
    assert!(
        wrong.is_empty(),
        "imports that break the layers (docs/architecture.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn commands_do_not_branch_on_kubernetes_more_than_they_did() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let hits = kubernetes_matches(&src);
    assert!(
        hits.len() <= KUBERNETES_MATCHES_IN_COMMANDS,
        "{} matches of BackendKind::Kubernetes in src/commands/ (at most {KUBERNETES_MATCHES_IN_COMMANDS}): ask the backend instead\n{}",
        hits.len(),
        hits.join("\n")
    );
}

/// Calls of the executor's methods (`Plan::execute`, `Plan::undo_after`,
/// `Step::run_for_code`) outside the layers above it: a method needs no
/// import, so `imports_only_go_down` cannot see them.
fn plans_run_below_the_executor(src: &Path) -> Vec<String> {
    let above = |top: &str| matches!(top, "commands" | "main" | "executor" | "layers");
    let mut hits = Vec::new();
    for file in sources(src) {
        let top = module_path(src, &file).first().cloned().unwrap_or_default();
        if above(&top) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if [".execute()", ".undo_after(", ".run_for_code()"]
                .iter()
                .any(|m| code.contains(m))
            {
                hits.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    hits
}

#[test]
fn only_the_layers_above_the_executor_run_plans() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let hits = plans_run_below_the_executor(&src);
    assert!(
        hits.is_empty(),
        "plans run below the executor (return the Plan to the command instead):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_parser_sees_every_form_of_import() {
    let file = ["backend".to_string(), "oci".to_string()];
    assert_eq!(imports_of("use crate::plan::Step;", &file), ["plan"]);
    assert_eq!(
        imports_of("use crate::{commands::Ctx, plan};", &file),
        ["commands", "plan"]
    );
    assert_eq!(
        imports_of("    let x = crate::daemon::stop(h); // crate::api", &file),
        ["daemon"]
    );
    assert_eq!(
        imports_of("use super::super::commands::Ctx;", &file),
        ["commands"]
    );
    assert!(imports_of("use super::engine::Engine;", &file).is_empty());
}

#[test]
fn a_planted_upward_import_fails() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("plan")).unwrap();
    std::fs::write(src.join("plan/mod.rs"), "use crate::store::Home;\n").unwrap();
    assert!(violations(&src).is_empty());
    std::fs::write(
        src.join("plan/step.rs"),
        // In two halves, so that grepping src/ for this import finds only commands/.
        concat!("use crate::error::Result;\nuse crate::", "commands::Ctx;\n"),
    )
    .unwrap();
    let wrong = violations(&src);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(
        wrong[0].ends_with(
            "plan/step.rs:2: `plan` (core data) imports `commands` (commands), a layer above it"
        ),
        "{}",
        wrong[0]
    );
}
