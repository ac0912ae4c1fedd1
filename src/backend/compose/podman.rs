//! What podman-compose 1.0.3 lacks, done beside it: the merged config
//! (no `config` command: the files are read with its own loader, see
//! `templates/compose-normalise.py`), the services' names (Podman's CNI
//! networks here have no DNS, and internal ones never do: a hosts file of
//! the project's addresses is mounted in every service and rewritten after
//! each start), the check that `up` really started every service (it exits
//! 0 whatever `podman run` said), and the networks `down` leaves.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::backend::engine::PODMAN;
use crate::error::{Error, Result};
use crate::exec::Cmd;

const NORMALISE: &str = include_str!("../../../templates/compose-normalise.py");

/// The hosts file's name in the session's directory.
pub const HOSTS_NAME: &str = "compose-hosts";

/// `{"order": [...], "config": {...}}` of `files`, read as podman-compose
/// reads them (paths as arguments; the program is a constant).
pub fn normalise(python: &str, project: &str, files: &[PathBuf]) -> Cmd {
    // Its interpolation reads the environment, as podman-compose's does.
    Cmd::new([python, "-c", NORMALISE, project])
        .args(files.iter().map(|f| f.display().to_string()))
        .without_env(&crate::proxy::credentials::credential_env_vars())
}

/// What clauderon cannot follow with podman-compose: a network declared
/// empty (mode proxy), more than one replica (the hosts file names the
/// first container of each service).
pub fn check(config: &Value, proxy: bool) -> Result<()> {
    let networks = config["networks"].as_object().into_iter().flatten();
    for (name, net) in networks {
        // The override makes it internal: podman-compose merges only a
        // mapping with a mapping.
        if proxy && net.is_null() {
            return Err(Error::input(format!(
                "network {name:?} is declared empty, which podman-compose 1.0.3 cannot merge with the override that makes it internal"
            ))
            .with_fix(format!("write it as `{name}: {{}}` in the compose file")));
        }
    }
    let services = config["services"].as_object().into_iter().flatten();
    for (name, s) in services {
        let replicas = &s["deploy"]["replicas"];
        if !replicas.is_null() && replicas.as_u64() != Some(1) && replicas.as_str() != Some("1") {
            return Err(Error::input(format!(
                "service {name:?} asks for {replicas} replicas: with podman-compose a session runs one container per service"
            ))
            .with_fix("drop deploy.replicas from the service"));
        }
    }
    Ok(())
}

/// The session's volume of the agent CLI image (Podman's `image` volume
/// driver: compose cannot mount an image, but it can mount a volume).
pub fn cli_volume(project: &str) -> String {
    format!("{project}-agent-cli")
}

/// Makes `cli_volume` from the agent CLI image (read-only where mounted).
pub fn create_cli_volume(project: &str, image: &str) -> Cmd {
    PODMAN
        .cmd()
        .args(["volume", "create", "--driver", "image", "--opt"])
        .arg(format!("image={image}"))
        .arg(cli_volume(project))
}

/// The agent service's `entrypoint` and `command`, which the override
/// replaces with the agent's: podman-compose 1.0.3 merges files by
/// appending lists, so the override can replace only a string form (it
/// then writes its own as a string too, which podman-compose splits as a
/// shell would); a list form is refused. Returns the keys in string form.
pub fn shell_forms(name: &str, service: &Value) -> Result<Vec<String>> {
    let mut strings = Vec::new();
    for key in ["entrypoint", "command"] {
        match &service[key] {
            Value::String(_) => strings.push(key.to_string()),
            Value::Array(_) => {
                return Err(Error::input(format!(
                    "service {name:?} sets {key}: as a list, which clauderon replaces with the agent's; podman-compose 1.0.3 appends lists of several files instead of replacing them"
                ))
                .with_fix(format!(
                    "drop {key}: from service {name:?} (the agent's entrypoint runs there), or write it as a string"
                )));
            }
            _ => {}
        }
    }
    Ok(strings)
}

/// podman-compose 1.0.3 passes every mount as `-v SRC:DST[:ro]`, so a
/// session path with a `:` in it cannot be mounted (podman would split
/// it): refused before anything is made.
pub fn check_paths(paths: &[&Path]) -> Result<()> {
    match paths.iter().find(|p| p.to_string_lossy().contains(':')) {
        Some(p) => Err(Error::input(format!(
            "{} has a ':' in it, which podman-compose cannot mount (it passes mounts as -v SRC:DST)",
            p.display()
        ))
        .with_fix("use a repository and CLAUDERON_HOME whose paths have no ':', or --backend docker")),
        None => Ok(()),
    }
}

/// podman-compose's container name for a service (`container_name:` is
/// refused, but for the agent's, which clauderon sets).
pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}_{service}_1")
}

/// The hosts file as every service's `/etc/hosts`, read-only.
pub fn hosts_mount(path: &Path) -> Value {
    json!({
        "type": "bind",
        "source": path.display().to_string(),
        "target": "/etc/hosts",
        "read_only": true,
    })
}

/// The hosts file's first lines (and all of it before the containers have
/// addresses): localhost, and `extra` (the host's names in mode open).
pub fn hosts_base(extra: &[String]) -> Vec<u8> {
    let mut text = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    text.into_bytes()
}

/// One call for every container of the project, by name.
pub fn inspect(containers: &[String]) -> Cmd {
    PODMAN.cmd().args(["container", "inspect"]).args(containers)
}

/// `inspect`, then `write_hosts`. One missing container fails the whole
/// call, so then each is asked alone (the others still get addresses).
pub fn refresh_hosts(containers: &[String], path: &Path, base: &Path) -> Result<()> {
    let base = std::fs::read(base)
        .map_err(|e| Error::io(format!("could not read {}", base.display()), e))?;
    let found = match inspect(containers).run() {
        Ok(out) => out.stdout,
        Err(_) => {
            let mut all: Vec<Value> = Vec::new();
            for c in containers {
                let one = inspect(std::slice::from_ref(c)).run();
                if let Ok(out) = one {
                    all.extend(serde_json::from_str::<Vec<Value>>(&out.stdout).unwrap_or_default());
                }
            }
            Value::Array(all).to_string()
        }
    };
    write_hosts(&found, containers, path, &String::from_utf8_lossy(&base))
}

/// From `inspect`'s JSON: fails naming the service whose container is
/// missing or stopped with an error (with its last lines), else writes
/// `path` in place (the file is bind-mounted: a rename would not reach the
/// containers), never through a link.
pub fn write_hosts(found: &str, containers: &[String], path: &Path, base: &str) -> Result<()> {
    let all: Vec<Value> = serde_json::from_str(found.trim()).unwrap_or_default();
    let mut text = base.to_string();
    for name in containers {
        let Some(c) = all.iter().find(|c| c["Name"].as_str() == Some(name)) else {
            return Err(not_started(name, "was not created"));
        };
        let state = &c["State"];
        let running = state["Running"].as_bool() == Some(true);
        if !running && state["ExitCode"].as_i64() != Some(0) {
            let why = format!("exited with code {}", state["ExitCode"]);
            return Err(not_started(name, &why));
        }
        let service = c["Config"]["Labels"]["com.docker.compose.service"]
            .as_str()
            .unwrap_or_default();
        let id: String = c["Id"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(12)
            .collect();
        for net in c["NetworkSettings"]["Networks"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if let Some(ip) = net.1["IPAddress"].as_str().filter(|ip| !ip.is_empty()) {
                text.push_str(&format!("{ip}\t{service} {name} {id}\n"));
            }
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(crate::safe_fs::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))
}

/// A service that did not start, with the last lines it printed.
fn not_started(container: &str, why: &str) -> Error {
    let logs = PODMAN
        .cmd()
        .args(["logs", "--tail", "20", container])
        .run()
        .map(|o| format!("{}{}", o.stdout, o.stderr))
        .unwrap_or_default();
    let service = container.rsplit_once('_').map_or(container, |(s, _)| s);
    let mut message = format!("podman-compose up: container {container} {why}");
    if !logs.trim().is_empty() {
        message.push_str(&format!("; its last lines:\n{}", logs.trim_end()));
    }
    Error::failed(message).with_fix(format!(
        "see podman-compose's output above for {service}; fix the compose file (a missing image, a bad command) and create again"
    ))
}

/// What `podman-compose down --volumes` leaves: containers of services no
/// longer in the files, and every network (1.0.3 removes none). By the
/// labels podman-compose puts on them; the shared caches have none.
pub fn leftovers(project: &str, networks: &[String]) -> Vec<Cmd> {
    let label = format!("label=io.podman.compose.project={project}");
    let mut cmds = vec![PODMAN.cmd().args(["rm", "--force", "--filter", &label])];
    // By name first (podman-compose names them PROJECT_NETWORK); the prune
    // after it is for any other, and has been seen to leave one behind
    // while other projects' containers came and went.
    for net in networks {
        let name = format!("{project}_{net}");
        cmds.push(PODMAN.cmd().args(["network", "rm", "--force", &name]));
    }
    cmds.extend([
        PODMAN
            .cmd()
            .args(["network", "prune", "--force", "--filter", &label]),
        PODMAN
            .cmd()
            .args(["volume", "prune", "--force", "--filter", &label]),
        PODMAN
            .cmd()
            .args(["volume", "rm", "--force", &cli_volume(project)]),
    ]);
    cmds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_a_colon_is_refused() {
        let e = check_paths(&[Path::new("/ok"), Path::new("/a:b/repo")]).unwrap_err();
        assert!(e.message.contains("/a:b/repo"), "{}", e.message);
        check_paths(&[Path::new("/ok/x")]).unwrap();
    }

    #[test]
    fn a_missing_container_names_its_service() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "").unwrap();
        let names = ["p_db_1".to_string()];
        let e = write_hosts("[]", &names, &path, "").unwrap_err();
        assert!(
            e.message.contains("p_db_1 was not created"),
            "{}",
            e.message
        );
    }

    #[test]
    fn hosts_lines_name_service_container_and_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "").unwrap();
        let found = r#"[{"Name":"p_db_1","Id":"0123456789abcdef","State":{"Running":true,"ExitCode":0},
            "Config":{"Labels":{"com.docker.compose.service":"db"}},
            "NetworkSettings":{"Networks":{"p_default":{"IPAddress":"10.89.0.2"}}}}]"#;
        let base = hosts_base(&["10.88.0.1\thost.containers.internal".to_string()]);
        let base = String::from_utf8(base).unwrap();
        write_hosts(found, &["p_db_1".into()], &path, &base).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("10.89.0.2\tdb p_db_1 0123456789ab\n"),
            "{text}"
        );
        assert!(text.contains("host.containers.internal"), "{text}");
    }
}
