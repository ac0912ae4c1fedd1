use super::*;

#[test]
fn hosts_match_exactly_or_by_suffix() {
    assert!(host_matches("api.github.com", "API.github.com"));
    assert!(host_matches("api.github.com", "api.github.com."));
    assert!(!host_matches("api.github.com", "evil-api.github.com"));
    assert!(host_matches("*.example.com", "a.b.example.com"));
    assert!(!host_matches("*.example.com", "example.com"));
    assert!(!host_matches("*.example.com", "badexample.com"));
}

#[test]
fn only_a_file_or_command_secret_that_a_request_needs_may_block() {
    let rule = |source| Rule {
        host: "api.example.com".into(),
        header: "authorization".into(),
        format: Format::Text,
        placeholder: "placeholder-x".into(),
        source,
        scope: RuleScope::Bounds(Default::default()),
    };
    let mut h = http::HeaderMap::new();
    h.insert("authorization", "Bearer placeholder-x".parse().unwrap());
    let env = [rule(Source::Env(vec!["X".into()]))];
    let cmd = [rule(Source::Command(vec!["op".into()]))];
    assert!(!may_block(&env, "api.example.com", &h));
    assert!(may_block(&cmd, "api.example.com", &h));
    assert!(!may_block(&cmd, "other.example.com", &h));
    h.insert("authorization", "Bearer something-else".parse().unwrap());
    assert!(!may_block(&cmd, "api.example.com", &h));
}

/// Two GitHub rules with a secret, and one whose secret is missing.
fn test_rules() -> Vec<Rule> {
    // SAFETY (test): no other thread of this test binary reads this variable.
    unsafe { std::env::set_var("CLAUDERON_TEST_GH", "ghp_real") };
    vec![
        Rule {
            host: "api.github.com".into(),
            header: "authorization".into(),
            format: Format::Text,
            placeholder: "clauderon-proxy".into(),
            source: Source::Env(vec!["CLAUDERON_TEST_GH".into()]),
            scope: RuleScope::Bounds(Default::default()),
        },
        Rule {
            host: "github.com".into(),
            header: "authorization".into(),
            format: Format::Basic,
            placeholder: "clauderon-proxy".into(),
            source: Source::Env(vec!["CLAUDERON_TEST_GH".into()]),
            scope: RuleScope::Bounds(Default::default()),
        },
        Rule {
            host: "x.test".into(),
            header: "x-api-key".into(),
            format: Format::Text,
            placeholder: "placeholder-x".into(),
            source: Source::Env(vec!["CLAUDERON_TEST_UNSET".into()]),
            scope: RuleScope::Bounds(Default::default()),
        },
    ]
}

#[test]
fn placeholders_are_swapped_only_where_they_are() {
    let rules = test_rules();
    let secrets = Secrets::default();
    let mut h = http::HeaderMap::new();
    h.insert("authorization", "token clauderon-proxy".parse().unwrap());
    assert_eq!(
        apply(&rules, &secrets, "api.github.com", &mut h),
        Injection::Injected
    );
    assert_eq!(h["authorization"], "token ghp_real");
    // Another credential is left alone.
    let mut h = http::HeaderMap::new();
    h.insert("authorization", "Bearer users-own".parse().unwrap());
    assert_eq!(
        apply(&rules, &secrets, "api.github.com", &mut h),
        Injection::None
    );
    assert_eq!(h["authorization"], "Bearer users-own");
    // Basic for git.
    let mut h = http::HeaderMap::new();
    let basic = format!("Basic {}", BASE64.encode("x-access-token:clauderon-proxy"));
    h.insert("authorization", basic.parse().unwrap());
    assert_eq!(
        apply(&rules, &secrets, "github.com", &mut h),
        Injection::Injected
    );
    assert_eq!(
        basic_credentials(h["authorization"].to_str().unwrap()).unwrap(),
        "x-access-token:ghp_real"
    );
    // Wrong host: nothing.
    let mut h = http::HeaderMap::new();
    h.insert("authorization", "token clauderon-proxy".parse().unwrap());
    assert_eq!(apply(&rules, &secrets, "evil.com", &mut h), Injection::None);
}

#[test]
fn a_missing_secret_or_a_wrapped_placeholder_is_left_alone() {
    let (rules, secrets) = (test_rules(), Secrets::default());
    // Missing secret: forwarded unchanged, marked.
    let mut h = http::HeaderMap::new();
    h.insert("x-api-key", "placeholder-x".parse().unwrap());
    assert_eq!(
        apply(&rules, &secrets, "x.test", &mut h),
        Injection::Missing
    );
    assert_eq!(h["x-api-key"], "placeholder-x");
    // The placeholder wrapped in text of the agent's own is not swapped.
    let mut h = http::HeaderMap::new();
    h.insert(
        "authorization",
        "token PREFIXclauderon-proxySUFFIX".parse().unwrap(),
    );
    assert_eq!(
        apply(&rules, &secrets, "api.github.com", &mut h),
        Injection::None
    );
    h.insert("authorization", "token x clauderon-proxy".parse().unwrap());
    assert_eq!(
        apply(&rules, &secrets, "api.github.com", &mut h),
        Injection::None
    );
}

#[test]
fn configured_rules_are_validated() {
    let ok = RuleConfig {
        host: "API.Example.com".into(),
        header: "X-Key".into(),
        format: Format::Text,
        placeholder: "example-placeholder".into(),
        env: Some("K".into()),
        file: None,
        command: None,
        paths: Vec::new(),
        methods: Vec::new(),
    };
    let rule = ok.into_rule().unwrap();
    assert_eq!(
        (rule.host.as_str(), rule.header.as_str()),
        ("api.example.com", "x-key")
    );
    let two = RuleConfig {
        host: "a.b".into(),
        header: "h".into(),
        format: Format::Text,
        placeholder: "long-enough".into(),
        env: Some("K".into()),
        file: Some("/f".into()),
        command: None,
        paths: Vec::new(),
        methods: Vec::new(),
    };
    assert!(two.into_rule().is_err());
    let short = RuleConfig {
        host: "a.b".into(),
        header: "h".into(),
        format: Format::Text,
        placeholder: "x".into(),
        env: Some("K".into()),
        file: None,
        command: None,
        paths: Vec::new(),
        methods: Vec::new(),
    };
    assert!(short.into_rule().is_err());
}
