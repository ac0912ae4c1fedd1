//! The agent's service may bind-mount paths of the repository (a
//! devcontainer's `..:/workspaces/app:cached` is the usual one). Mounted as
//! written, that would hand the agent your own checkout, read-write,
//! outside its worktree. Each is mounted from the same path in the
//! session's worktree instead: the agent sees its own files there, as at
//! `/workspace`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::spec::compose::RepoBind;

/// The key the podman-compose normaliser (`templates/compose-normalise.py`)
/// adds to a mount written as a string: what follows its source, as
/// written, which podman-compose matches to let a later file replace it.
const AS_WRITTEN: &str = "x-clauderon-mount";

/// The agent's mount targets clauderon makes itself: not remapped.
const OWN_TARGETS: &[&str] = &["/workspace"];

/// The bind mounts of `service` whose source is inside `repo_root`.
pub fn of_service(service: &Value, repo_root: &Path) -> Vec<RepoBind> {
    let volumes = service.get("volumes").and_then(Value::as_array);
    volumes
        .into_iter()
        .flatten()
        .filter_map(|v| repo_bind(v, repo_root))
        .filter(|b| !OWN_TARGETS.contains(&target_of(&b.mount)))
        .collect()
}

/// `SOURCE:TARGET[:MODE]` (what `config` prints for the short form), or
/// the long form's mapping.
fn repo_bind(volume: &Value, repo_root: &Path) -> Option<RepoBind> {
    let (source, mount) = match volume {
        Value::String(text) => {
            let (source, rest) = text.split_once(':')?;
            (PathBuf::from(source), rest.to_string())
        }
        Value::Object(m) if m.get("type").and_then(Value::as_str) == Some("bind") => {
            let source = PathBuf::from(m.get("source")?.as_str()?);
            let mount = match m.get(AS_WRITTEN).and_then(Value::as_str) {
                Some(written) => written.to_string(),
                None => long_form_mount(m)?,
            };
            (source, mount)
        }
        _ => return None,
    };
    let path = relative_to(&source, repo_root)?;
    Some(RepoBind { path, mount })
}

/// `TARGET` or `TARGET:ro` of a long-form mount.
fn long_form_mount(m: &serde_json::Map<String, Value>) -> Option<String> {
    let target = m.get("target")?.as_str()?;
    let read_only = m.get("read_only").and_then(Value::as_bool) == Some(true);
    Some(if read_only {
        format!("{target}:ro")
    } else {
        target.to_string()
    })
}

/// `source` below `root` (links resolved), as a relative path.
fn relative_to(source: &Path, root: &Path) -> Option<PathBuf> {
    if !source.is_absolute() {
        return None;
    }
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let rel = real(source).strip_prefix(real(root)).ok()?.to_path_buf();
    let climbs = rel
        .components()
        .any(|c| c == std::path::Component::ParentDir);
    (!climbs).then_some(rel)
}

fn target_of(mount: &str) -> &str {
    mount.split(':').next().unwrap_or(mount)
}

/// The override's entries: the same targets, from the worktree. Written
/// as strings with the mount as the user wrote it, so that compose (by
/// target) and podman-compose (by what follows the source) replace the
/// file's entry instead of adding a second one.
pub fn override_entries(binds: &[RepoBind], worktree: &Path) -> Vec<Value> {
    binds
        .iter()
        .map(|b| {
            let source = match b.path.as_os_str().is_empty() {
                true => worktree.to_path_buf(),
                false => worktree.join(&b.path),
            };
            json!(format!("{}:{}", source.display(), b.mount))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_of_the_repository_are_found_in_every_form_and_others_left() {
        let root = Path::new("/no/such/repo");
        let service = json!({"volumes": [
            "/no/such/repo:/workspaces/app:cached",
            "/no/such/repo/db:/seed:ro",
            "/no/such/repo:/workspace",
            "/etc:/hostetc:rw",
            "data:/data",
            {"type": "bind", "source": "/no/such/repo/a", "target": "/a", "read_only": true},
            {"type": "bind", "source": "/no/such/repo/b", "target": "/b", AS_WRITTEN: "/b:z"},
            {"type": "volume", "source": "v", "target": "/v"},
        ]});
        let found = of_service(&service, root);
        let shown: Vec<(String, &str)> = found
            .iter()
            .map(|b| (b.path.display().to_string(), b.mount.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (String::new(), "/workspaces/app:cached"),
                ("db".into(), "/seed:ro"),
                ("a".into(), "/a:ro"),
                ("b".into(), "/b:z"),
            ]
        );
        let entries = override_entries(&found[..2], Path::new("/home/w/tree"));
        assert_eq!(
            entries,
            [
                json!("/home/w/tree:/workspaces/app:cached"),
                json!("/home/w/tree/db:/seed:ro")
            ]
        );
    }
}
