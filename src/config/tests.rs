use super::*;

fn load(text: &str) -> Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    Config::load(dir.path())
}

#[test]
fn missing_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(dir.path()).unwrap();
    assert_eq!(c.default_image.value, DEFAULT_IMAGE);
    assert_eq!(c.pull_policy.value, PullPolicy::IfNotPresent);
    assert_eq!(c.default_image.source, Source::Default);
}

#[test]
fn values_come_from_the_file() {
    let c = load(
        "[docker]\ndefault_image = \"rust:1.85\"\npull_policy = \"never\"\n[docker.limits]\ncpu = \"500m\"\nmemory = \"2Gi\"\n",
    )
    .unwrap();
    assert_eq!(c.default_image.value, "rust:1.85");
    assert_eq!(c.pull_policy.value, PullPolicy::Never);
    assert_eq!(c.cpu.value.unwrap().docker(), "0.5");
    assert_eq!(c.memory.value.unwrap().docker(), "2g");
    assert!(matches!(c.cpu.source, Source::File(_)));
}

#[test]
fn unknown_key_and_bad_value_name_the_key_and_file() {
    let e = load("[docker]\ndefault_imag = \"x\"\n").unwrap_err();
    assert!(e.message.contains("default_imag"), "{}", e.message);
    assert!(e.message.contains("config.toml"), "{}", e.message);
    let e = load("[docker]\npull_policy = \"sometimes\"\n").unwrap_err();
    assert!(e.message.contains("docker.pull_policy"), "{}", e.message);
    assert!(e.message.contains("config.toml"), "{}", e.message);
    let e = load("[docker.limits]\nmemory = \"lots\"\n").unwrap_err();
    assert!(e.message.contains("docker.limits.memory"), "{}", e.message);
    let e = load("[dockr]\n").unwrap_err();
    assert!(e.message.contains("dockr"), "{}", e.message);
    assert!(e.fix.unwrap().contains("known keys"));
    // A value of the wrong type: its line is shown, not every key.
    let e = load("[mounts]\nallowed_roots = [\"data\"]\n").unwrap_err();
    assert!(e.message.contains("mounts.allowed_roots"), "{}", e.message);
    assert!(load("[mounts]\nallowed_roots = [\"~/d\", \"/srv\"]\n").is_ok());
    let e = load("[notify]\nbell = \"yes\"\n").unwrap_err();
    assert!(e.message.contains("bell"), "{}", e.message);
    assert!(!e.fix.unwrap().contains("known keys"));
}
