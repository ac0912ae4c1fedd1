//! The agent's service may bind-mount paths of the repository (a
//! devcontainer's `..:/workspaces/app:cached` is the usual one). Mounted as
//! written, that would hand the agent your own checkout, read-write,
//! outside its worktree. Each is mounted from the same path in the
//! session's worktree instead: the agent sees its own files there, as at
//! `/workspace`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::check::{Options, refuse};
use crate::error::Result;
use crate::spec::compose::RepoBind;

/// The key the podman-compose normaliser (`templates/compose-normalise.py`)
/// adds to a mount written as a string: what follows its source, as
/// written, which podman-compose matches to let a later file replace it.
const AS_WRITTEN: &str = "x-clauderon-mount";

/// The agent's mount targets clauderon makes itself: not remapped.
const OWN_TARGETS: &[&str] = &["/workspace"];

/// The bind mounts of `service` whose source is inside the repository,
/// but not inside its git directory (the agent has that one already, at
/// its own path). One podman-compose cannot replace, or that would hide
/// the git directory clauderon mounts, is refused.
pub fn of_service(name: &str, service: &Value, opts: &Options) -> Result<Vec<RepoBind>> {
    let volumes = service.get("volumes").and_then(Value::as_array);
    let mut binds = Vec::new();
    for volume in volumes.into_iter().flatten() {
        let Some((source, bind)) = repo_bind(volume, &opts.repo_root) else {
            continue;
        };
        let target = target_of(&bind.mount);
        if OWN_TARGETS.contains(&target) || relative_to(&source, &opts.git_common_dir).is_some() {
            continue;
        }
        check(name, volume, (&source, target), opts)?;
        binds.push(bind);
    }
    Ok(binds)
}

/// A mount of `source` at `target` the override can put the worktree in.
fn check(
    name: &str,
    volume: &Value,
    (source, target): (&Path, &str),
    opts: &Options,
) -> Result<()> {
    let what = format!("a bind mount of {} at {target}", source.display());
    if opts.podman_compose && volume.is_object() && volume.get(AS_WRITTEN).is_none() {
        return Err(refuse(
            name,
            &what,
            "podman-compose cannot put the session's worktree in place of a mount written in long syntax (type: bind), so the agent would get your checkout",
            "write the mount as SOURCE:TARGET (e.g. ..:/workspaces/app), or use --backend docker",
        ));
    }
    if opts.git_common_dir.starts_with(target) {
        return Err(refuse(
            name,
            &what,
            &format!(
                "clauderon mounts the repository's git directory at {}, where the session's worktree has its .git file",
                opts.git_common_dir.display()
            ),
            "mount the repository at another path (e.g. /workspaces/app)",
        ));
    }
    Ok(())
}

/// The source of a bind mount inside `repo_root`, and the mount as the
/// override writes it: `SOURCE:TARGET[:MODE]` (what `config` prints for
/// the short form), or the long form's mapping.
fn repo_bind(volume: &Value, repo_root: &Path) -> Option<(PathBuf, RepoBind)> {
    let source = super::check::bind_source(volume)?;
    let path = relative_to(&source, repo_root)?;
    let mount = match volume {
        Value::String(text) => text.split_once(':')?.1.to_string(),
        Value::Object(m) => match m.get(AS_WRITTEN).and_then(Value::as_str) {
            Some(written) => written.to_string(),
            None => long_form_mount(m)?,
        },
        _ => return None,
    };
    Some((source, RepoBind { path, mount }))
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

/// `source` below `root` (links resolved where they exist), as a
/// relative path.
pub(super) fn relative_to(source: &Path, root: &Path) -> Option<PathBuf> {
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

    fn opts(podman_compose: bool) -> Options {
        Options {
            service: None,
            repo_root: "/no/such/repo".into(),
            git_common_dir: "/no/such/repo/.git".into(),
            podman_compose,
            allow_ports: false,
            allow_build: false,
            proxy: false,
            project: "clauderon-t".into(),
        }
    }

    fn refusal(volume: Value, podman_compose: bool) -> (String, String) {
        let service = json!({ "volumes": [volume] });
        let e = of_service("dev", &service, &opts(podman_compose)).unwrap_err();
        (e.message, e.fix.unwrap_or_default())
    }

    #[test]
    fn binds_of_the_repository_are_found_in_every_form_and_others_left() {
        let service = json!({"volumes": [
            "/no/such/repo:/workspaces/app:cached",
            "/no/such/repo/db:/seed:ro",
            "/no/such/repo:/workspace",
            "/etc:/hostetc:rw",
            "data:/data",
            {"type": "bind", "source": "/no/such/repo/a", "target": "/a", "read_only": true},
            {"type": "bind", "source": "/no/such/repo/b", "target": "/b", AS_WRITTEN: "/b:z"},
            {"type": "volume", "source": "v", "target": "/v"},
            "/no/such/repo/.git:/repo-git:ro",
        ]});
        let found = of_service("dev", &service, &opts(false)).unwrap();
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

    #[test]
    fn a_long_form_bind_of_the_repository_is_refused_on_podman_compose() {
        let long = json!({"type": "bind", "source": "/no/such/repo", "target": "/workspaces/app"});
        assert_eq!(
            refusal(long.clone(), true),
            (
                "service \"dev\" uses a bind mount of /no/such/repo at /workspaces/app: podman-compose cannot put the session's worktree in place of a mount written in long syntax (type: bind), so the agent would get your checkout".to_string(),
                "write the mount as SOURCE:TARGET (e.g. ..:/workspaces/app), or use --backend docker".to_string(),
            )
        );
        let service = json!({ "volumes": [long] });
        assert_eq!(of_service("dev", &service, &opts(false)).unwrap().len(), 1);
    }

    #[test]
    fn a_bind_over_the_git_directory_clauderon_mounts_is_refused() {
        for volume in [
            json!("/no/such/repo:/no/such/repo:cached"),
            json!("/no/such/repo/sub:/no/such/repo/.git"),
        ] {
            let target = volume.as_str().unwrap().split(':').nth(1).unwrap();
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            assert_eq!(
                refusal(volume.clone(), false),
                (
                    format!(
                        "service \"dev\" uses a bind mount of {source} at {target}: clauderon mounts the repository's git directory at /no/such/repo/.git, where the session's worktree has its .git file"
                    ),
                    "mount the repository at another path (e.g. /workspaces/app)".to_string(),
                )
            );
        }
    }
}
