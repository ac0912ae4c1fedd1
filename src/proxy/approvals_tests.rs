use super::*;

#[test]
fn always_adds_the_host_where_the_user_would() {
    let (t, line) = with_allow_host("", "a.test").unwrap();
    assert_eq!(
        (t.as_str(), line),
        ("[proxy]\nallow_hosts = [\"a.test\"]\n", 2)
    );
    let (t, line) = with_allow_host("[daemon]\nhttp_port = 0\n", "a.test").unwrap();
    assert_eq!(
        (t.as_str(), line),
        (
            "[daemon]\nhttp_port = 0\n\n[proxy]\nallow_hosts = [\"a.test\"]\n",
            5
        )
    );
    let text = "# mine\n[proxy]\nport = 1\nallow_hosts = [\"x.test\"]\n[proxy.resolve]\n";
    let (t, line) = with_allow_host(text, "a.test").unwrap();
    assert_eq!(line, 4);
    assert!(
        t.contains("allow_hosts = [\"x.test\", \"a.test\"]\n"),
        "{t}"
    );
    assert!(t.starts_with("# mine\n"));
    let (t, line) = with_allow_host("[proxy]\nallow_hosts = []\n", "a.test").unwrap();
    assert_eq!(
        (t.as_str(), line),
        ("[proxy]\nallow_hosts = [\"a.test\"]\n", 2)
    );
    let (t, line) = with_allow_host("[proxy]\nport = 1\n", "a.test").unwrap();
    assert_eq!(
        (t.as_str(), line),
        ("[proxy]\nallow_hosts = [\"a.test\"]\nport = 1\n", 2)
    );
    assert!(with_allow_host("[proxy]\nallow_hosts = [\n \"x\",\n]\n", "a.test").is_err());
}

#[test]
fn a_file_that_would_break_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[proxy]\nallow_hosts = [\"x\"] # note\n").unwrap();
    assert!(add_to_allow_hosts(&path, "a.test").is_err());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[proxy]\nallow_hosts = [\"x\"] # note\n"
    );
    std::fs::write(&path, "[proxy]\n").unwrap();
    assert_eq!(add_to_allow_hosts(&path, "a.test").unwrap(), 2);
    insta::assert_snapshot!(
        "approve_always_config",
        std::fs::read_to_string(&path).unwrap()
    );
    let applied = crate::proxy::live::read(&path).unwrap();
    assert_eq!(applied.policy.allow_hosts, ["a.test"]);
}

#[tokio::test]
async fn held_requests_are_answered_listed_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home {
        root: dir.path().to_path_buf(),
    };
    std::fs::create_dir_all(home.session_dir("s")).unwrap();
    let waiting = Waiting::default();
    let short = Duration::from_millis(300);
    // Timeout: refused, and no longer listed.
    let out = waiting.hold(&home, "s", "a.test", short, || None).await;
    assert!(
        matches!(out, Outcome::Refused(ref why) if why.contains("not approved")),
        "{out:?}"
    );
    assert!(held(&home, "s", 0).is_empty());
    // A once file lets it through (and is used up).
    let w = waiting.clone();
    let h = home.clone();
    let task = tokio::spawn(async move {
        w.hold(&h, "s", "b.test", Duration::from_secs(10), || None)
            .await
    });
    while held(&home, "s", 0).is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(held(&home, "s", 0)[0].host, "b.test");
    std::fs::write(once_file(&home, "s", "b.test"), "").unwrap();
    assert_eq!(task.await.unwrap(), Outcome::Allowed);
    assert!(!once_file(&home, "s", "b.test").exists());
    // The cap: the ninth is refused at once.
    let mut tasks = Vec::new();
    for _ in 0..MAX_HELD_PER_SESSION {
        let (w, h) = (waiting.clone(), home.clone());
        tasks.push(tokio::spawn(async move {
            w.hold(&h, "s", "c.test", Duration::from_secs(2), || None)
                .await
        }));
    }
    while held(&home, "s", 0).len() < MAX_HELD_PER_SESSION {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = waiting.hold(&home, "s", "c.test", short, || None).await;
    assert!(
        matches!(out, Outcome::Refused(ref why) if why.contains("already wait")),
        "{out:?}"
    );
    // A decision (deny, policy allow) answers them all.
    drop(tasks);
    let out = waiting
        .hold(&home, "t", "d.test", short, || {
            Some(Outcome::Refused("denied".into()))
        })
        .await;
    assert_eq!(out, Outcome::Refused("denied".into()));
}
