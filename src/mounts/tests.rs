use super::*;

/// A fake user home with a store and a data directory, and a policy over it.
fn setup(allowed: &[&str], stores: &[&str]) -> (tempfile::TempDir, Policy) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for d in ["data/sub", ".ssh", "home/.clauderon", "repo/.git"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::os::unix::fs::symlink(root.join(".ssh"), root.join("data/innocent")).unwrap();
    let section = MountsSection {
        allowed_roots: allowed
            .iter()
            .map(|a| root.join(a).display().to_string())
            .collect(),
        allow_secret_stores: stores
            .iter()
            .map(|s| root.join(s).display().to_string())
            .collect(),
    };
    let mut policy = Policy::new(
        &section,
        &root.join("home/.clauderon"),
        &root.join("repo/.git"),
    );
    // The test's own stand-in for ~/.ssh.
    let ssh = root.join(".ssh");
    let ok = section
        .allow_secret_stores
        .contains(&ssh.display().to_string());
    policy.stores.push(("~/.ssh".into(), ssh, ok));
    (dir, policy)
}

fn root(dir: &tempfile::TempDir) -> String {
    dir.path().canonicalize().unwrap().display().to_string()
}

#[test]
fn read_only_unless_rw_and_the_container_path_defaults_to_the_host_path() {
    let (dir, p) = setup(&["data"], &[]);
    let r = root(&dir);
    let m = parse(&format!("{r}/data/sub"), &p).unwrap();
    assert_eq!(
        (m.container.as_str(), m.rw),
        (format!("{r}/data/sub").as_str(), false)
    );
    let m = parse(&format!("{r}/data:/data:rw"), &p).unwrap();
    assert_eq!((m.container.as_str(), m.rw), ("/data", true));
    let m = parse(&format!("{r}/data:/data:ro"), &p).unwrap();
    assert!(!m.rw);
    assert_eq!(m.describe(), format!("{r}/data:/data:ro"));
    // A mistyped mode is named as one, not as a path with a `:`.
    let e = parse(&format!("{r}/data:/data:rx"), &p).unwrap_err();
    assert!(e.message.contains("\"rx\" is not a mode"), "{}", e.message);
}

#[test]
fn outside_the_allowed_roots_is_refused_naming_the_setting() {
    let (dir, p) = setup(&[], &[]);
    let e = parse(&format!("{}/data", root(&dir)), &p).unwrap_err();
    assert!(
        e.message.contains("allowed_roots (none are set)"),
        "{}",
        e.message
    );
    assert!(e.fix.unwrap().contains("[mounts] allowed_roots"));
}

#[test]
fn secret_stores_are_refused_through_links_and_from_above() {
    let (dir, p) = setup(&[""], &[]);
    let r = root(&dir);
    for path in [format!("{r}/.ssh"), format!("{r}/data/innocent"), r.clone()] {
        let e = parse(&format!("{path}:/x"), &p).unwrap_err();
        assert!(
            e.message.contains("secret store ~/.ssh") || e.message.contains("clauderon's home"),
            "{path}: {}",
            e.message
        );
    }
    let e = parse(&format!("{r}/.ssh:/x"), &p).unwrap_err();
    assert!(e.fix.unwrap().contains("allow_secret_stores"));
    let e = parse(&format!("{r}/home:/x"), &p).unwrap_err();
    assert!(e.message.contains("clauderon's home"), "{}", e.message);
    let (dir, p) = setup(&[""], &[".ssh"]);
    parse(&format!("{}/.ssh:/ssh", root(&dir)), &p).unwrap();
}

#[test]
fn hostile_and_clashing_paths_are_refused() {
    let (dir, p) = setup(&["data"], &[]);
    let r = root(&dir);
    for bad in [
        format!("{r}/data:/x,readonly=false"),
        format!("{r}/data:/a\nb"),
        format!("{r}/data:/x:y:rw"),
        format!("{r}/data:relative"),
        format!("{r}/data:/mnt/../etc"),
        format!("{r}/data:/"),
        format!("{r}/data:/etc/passwd"),
        format!("{r}/data:/workspace"),
        format!("{r}/data:/workspace/.clauderon"),
        format!("{r}/data:/proc/x"),
        format!("{r}/data:{r}/repo/.git/hooks"),
        format!("{r}/data:{r}/repo"),
        format!("{r}/missing:/x"),
        ":/x".to_string(),
    ] {
        assert!(parse(&bad, &p).is_err(), "{bad:?}");
    }
    let a = parse(&format!("{r}/data:/mnt/a"), &p).unwrap();
    let b = parse(&format!("{r}/data/sub:/mnt/a"), &p).unwrap();
    assert!(check_distinct(&[a, b]).is_err());
}

#[test]
fn talos_config_must_be_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    let cfg = Path::new("config.toml");
    let section = |p: &Path| TalosSection {
        config: Some(p.display().to_string()),
    };
    let e = talos_config(&section(&file), cfg).unwrap_err();
    assert!(e.message.contains("[talos] config"), "{}", e.message);
    assert!(talos_config(&section(dir.path()), cfg).is_err());
    std::fs::write(&file, "context: x\n").unwrap();
    assert_eq!(
        talos_config(&section(&file), cfg).unwrap(),
        Some(file.canonicalize().unwrap())
    );
    assert_eq!(talos_config(&TalosSection::default(), cfg).unwrap(), None);
}

#[test]
fn a_root_must_be_a_path_or_an_empty_one_would_allow_everything() {
    for bad in ["", "relative/dir", "~user/x"] {
        let section = MountsSection {
            allowed_roots: vec![bad.into()],
            ..Default::default()
        };
        let (key, why) = section.checked().unwrap_err();
        assert_eq!(key, "mounts.allowed_roots");
        assert!(why.contains("absolute path"), "{why}");
    }
    for good in ["/srv/data", "~", "~/datasets"] {
        let section = MountsSection {
            allowed_roots: vec![good.into()],
            ..Default::default()
        };
        assert!(section.checked().is_ok(), "{good}");
    }
}

#[test]
fn a_socket_or_a_directory_with_an_engines_socket_is_refused() {
    let (dir, p) = setup(&[""], &[]);
    let r = root(&dir);
    let socket = Path::new(&r).join("data/sub/engine.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let e = parse(&format!("{}:/var/run/docker.sock", socket.display()), &p).unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "--mount \"{0}:/var/run/docker.sock\": {0} is or holds the socket {0}: a socket reaches a service of this host (an engine's gives root on it), which sessions do not get",
            socket.display()
        )
    );
    let sub = Path::new(&r).join("data/sub");
    assert_eq!(socket_in(&sub, vec![socket.clone()]), Some(socket.clone()));
    assert_eq!(socket_in(&sub, vec![]), None);
    parse(&format!("{}:/sub", sub.display()), &p).unwrap();
}
