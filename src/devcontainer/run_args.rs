//! devcontainer.json's `runArgs`: engine flags from a repository. Only a
//! short allowlist is taken, each mapped onto what clauderon already sets
//! (limits, environment, `--mount`'s rules); a flag that would raise the
//! container's privileges is refused by name, and so is any other.

use serde_json::Value;

use super::fields::{Base, Settings, check_env_pair, expand, string};
use crate::error::{Error, Result};

/// Flags that would weaken the session's isolation.
const PRIVILEGED: [&str; 20] = [
    "--privileged",
    "--cap-add",
    "--security-opt",
    "--network",
    "--net",
    "--pid",
    "--ipc",
    "--device",
    "--userns",
    "--uts",
    "--cgroupns",
    "--group-add",
    "--user",
    "-u",
    "--add-host",
    "--volumes-from",
    "--cgroup-parent",
    "--runtime",
    "--sysctl",
    "--device-cgroup-rule",
];

/// Flags taken (each with a value but `--init`).
const ALLOWED: [&str; 9] = [
    "--cpus", "--memory", "-m", "--env", "-e", "--init", "-v", "--volume", "--mount",
];

pub fn read(s: &mut Settings, value: &Value, base: &Base) -> Result<()> {
    let Value::Array(items) = value else {
        return Err(Error::input("devcontainer.json: `runArgs` must be a list"));
    };
    let args = items
        .iter()
        .map(|i| string("runArgs", i))
        .collect::<Result<Vec<_>>>()?;
    let mut i = 0;
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (args[i].clone(), None),
        };
        check_allowed(&flag)?;
        if flag == "--init" {
            s.notes.push(
                "devcontainer.json: runArgs --init: every session runs under an init already"
                    .into(),
            );
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i).cloned().ok_or_else(|| {
                    Error::input(format!("devcontainer.json: runArgs {flag} has no value"))
                })?
            }
        };
        take(s, &flag, &value, base)?;
        i += 1;
    }
    Ok(())
}

fn check_allowed(flag: &str) -> Result<()> {
    if PRIVILEGED.contains(&flag) {
        let own = if flag == "--cap-add" {
            "; for a capability you trust, pass --cap-add NAME to create yourself"
        } else {
            ""
        };
        return Err(Error::input(format!(
            "devcontainer.json: runArgs {flag} would raise the container's privileges, which a repository's file may not do"
        ))
        .with_fix(format!(
            "remove {flag} from runArgs (or pass --no-devcontainer to ignore the file){own}"
        )));
    }
    if !ALLOWED.contains(&flag) {
        return Err(Error::input(format!(
            "devcontainer.json: runArgs {flag} is not one clauderon takes (it takes {})",
            ALLOWED.join(", ")
        ))
        .with_fix(format!(
            "remove {flag} from runArgs, or pass --no-devcontainer"
        )));
    }
    Ok(())
}

fn take(s: &mut Settings, flag: &str, value: &str, base: &Base) -> Result<()> {
    match flag {
        "--cpus" => s.cpus = Some(value.to_string()),
        "--memory" | "-m" => s.memory = Some(value.to_string()),
        "--env" | "-e" => {
            let Some((k, v)) = value.split_once('=') else {
                return Err(Error::input(format!(
                    "devcontainer.json: runArgs {flag} {value}: give NAME=VALUE (a value from your environment is not taken from a repository's file)"
                )));
            };
            check_env_pair("runArgs", k, v)?;
            s.env.push((k.to_string(), v.to_string()));
        }
        "-v" | "--volume" => {
            let mut parts = value.splitn(3, ':');
            let (Some(src), Some(dst)) = (parts.next(), parts.next()) else {
                return Err(Error::input(format!(
                    "devcontainer.json: runArgs {flag} {value}: give SRC:DST"
                )));
            };
            if !src.starts_with(['/', '~', '.', '$']) {
                return Err(Error::input(format!(
                    "devcontainer.json: runArgs {flag} {value}: named volumes are not supported"
                )));
            }
            s.mounts
                .push(format!("{}:{dst}", expand("runArgs", src, base)?));
        }
        _ => super::fields::mount_item(s, &Value::String(value.to_string()), base)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> (std::path::PathBuf, Settings) {
        (std::env::temp_dir(), Settings::default())
    }

    #[test]
    fn privilege_raising_flags_are_refused_by_name() {
        let (dir, mut s) = base();
        let b = Base {
            repo_root: &dir,
            dir: &dir,
        };
        for args in [
            serde_json::json!(["--privileged"]),
            serde_json::json!(["--cap-add=SYS_PTRACE"]),
            serde_json::json!(["--security-opt", "seccomp=unconfined"]),
            serde_json::json!(["--network=host"]),
            serde_json::json!(["--device", "/dev/kvm"]),
        ] {
            let err = read(&mut s, &args, &b).unwrap_err();
            let flag = args[0]
                .as_str()
                .unwrap()
                .split('=')
                .next()
                .unwrap()
                .to_string();
            assert!(err.message.contains(&flag), "{}", err.message);
            assert!(err.message.contains("privileges"), "{}", err.message);
        }
    }

    #[test]
    fn allowed_flags_map_onto_settings() {
        let (dir, mut s) = base();
        let b = Base {
            repo_root: &dir,
            dir: &dir,
        };
        read(
            &mut s,
            &serde_json::json!(["--cpus=2", "-m", "4g", "-e", "A=b", "--init"]),
            &b,
        )
        .unwrap();
        assert_eq!(s.cpus.as_deref(), Some("2"));
        assert_eq!(s.memory.as_deref(), Some("4g"));
        assert_eq!(s.env, vec![("A".to_string(), "b".to_string())]);
        assert!(read(&mut s, &serde_json::json!(["--shm-size=1g"]), &b).is_err());
        assert!(
            read(
                &mut s,
                &serde_json::json!(["-e", "GITHUB_TOKEN=ghp_abc"]),
                &b
            )
            .is_err()
        );
    }
}
