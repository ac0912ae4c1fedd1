use super::*;
use crate::proxy::audit::Entry;

#[test]
fn the_session_policy_sits_on_top_of_the_home() {
    let home = Policy::default();
    let mut s = SessionPolicy::default();
    let e = s.check(&home, "s1", "evil.example", false).unwrap_err();
    assert!(e.contains("clauderon policy s1 allow evil.example"), "{e}");
    s.allow("evil.example".into());
    s.check(&home, "s1", "evil.example", false).unwrap();
    s.deny("github.com".into());
    let e = s.check(&home, "s1", "github.com", false).unwrap_err();
    assert!(e.contains("session s1's policy"), "{e}");
    s.allow("github.com".into());
    assert!(s.deny_hosts.is_empty());
    s.mode = Some("locked".into());
    assert!(s.check(&home, "s1", "pypi.org", false).is_err());
    s.check(&home, "s1", "api.anthropic.com", false).unwrap();
    s.mode = Some("learn".into());
    s.check(&home, "s1", "pypi.org", false).unwrap();
    // The home's denials still win.
    let strict = Policy {
        deny_hosts: vec!["evil.example".into()],
        ..Policy::default()
    };
    let e = s.check(&strict, "s1", "evil.example", false).unwrap_err();
    assert!(e.contains("deny_hosts"), "{e}");
    assert_eq!(
        s.describe(&strict),
        "learn (session); allow evil.example, github.com (session); deny evil.example (config.toml)"
    );
}

#[test]
fn hosts_are_checked() {
    assert_eq!(parse_host("API.example.com").unwrap(), "api.example.com");
    assert_eq!(parse_host("*.corp.test").unwrap(), "*.corp.test");
    for bad in ["", "-x", "a b", "a/b", "*", "$(id)", "[::1]", "x\ny"] {
        assert!(parse_host(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn suggest_lists_exactly_the_hosts_used() {
    let entry = |session: &str, method: &str, host: &str, path: &str| Entry {
        time_ms: 0,
        session: session.into(),
        method: method.into(),
        host: host.into(),
        path: path.into(),
        status: 200,
        credential: "none".into(),
        duration_ms: 0,
        error: None,
        seq: 0,
        prev: String::new(),
    };
    let entries = [
        entry("s", "CONNECT", "pypi.org:443", ""),
        entry("s", "CONNECT", "api.anthropic.com:443", ""),
        entry("s", "POST", "api.anthropic.com", "/v1/messages"),
        entry("s", "GET", "api.github.com", "/repos/o/r/pulls"),
        entry("other", "CONNECT", "evil.example:443", ""),
        Entry {
            credential: "denied".into(),
            status: 403,
            ..entry("s", "GET", "crates.io", "/")
        },
        Entry {
            credential: "tunnel".into(),
            status: 502,
            ..entry("s", "CONNECT", "nx.test:443", "")
        },
    ];
    let out = suggest("s", &entries);
    assert!(
        out.contains("policy = \"locked\"\nallow_hosts = [\"api.github.com\", \"pypi.org\"]\n"),
        "{out}"
    );
    assert!(out.contains("# api.github.com: GET /repos/o\n"), "{out}");
    assert!(
        out.contains("# refused or unreachable, so left out: crates.io, nx.test\n"),
        "{out}"
    );
    assert!(
        out.contains("# api.anthropic.com: POST /v1/messages\n"),
        "{out}"
    );
    assert!(!out.contains("evil"), "{out}");
    insta::assert_snapshot!("policy_suggest", out);
}
