use super::*;

fn repo() -> Vec<RepoRef> {
    vec![RepoRef::parse("Org/Repo").unwrap()]
}

#[test]
fn remotes_name_their_repository() {
    for url in [
        "https://github.com/org/repo.git",
        "https://github.com/org/repo",
        "https://x-access-token:t@github.com/org/repo.git/",
        "git@github.com:org/repo.git",
        "ssh://git@github.com:22/org/repo",
        "http://GitHub.com/org/repo.git",
    ] {
        assert_eq!(
            RepoRef::from_remote(url).map(|r| r.to_string()).as_deref(),
            Some("org/repo"),
            "{url}"
        );
    }
    for url in [
        "https://gitlab.com/org/repo.git",
        "https://github.com.evil.test/org/repo",
        "https://github.com/org",
        "https://github.com/org/repo/extra",
        "https://github.com/../repo",
        "/srv/git/repo.git",
        "",
    ] {
        assert_eq!(RepoRef::from_remote(url), None, "{url}");
    }
}

#[test]
fn git_is_allowed_on_the_own_repository_only() {
    let r = repo();
    assert_eq!(
        decide(true, "GET", "/org/repo.git/info/refs", &r),
        Verdict::Allow
    );
    assert_eq!(
        decide(true, "GET", "/ORG/REPO/info/refs", &r),
        Verdict::Allow
    );
    assert_eq!(
        decide(true, "POST", "/org/repo.git/git-upload-pack", &r),
        Verdict::Allow
    );
    assert_eq!(
        decide(true, "POST", "/org/repo.git/git-receive-pack", &r),
        Verdict::ReceivePack
    );
    for (method, path) in [
        ("GET", "/org/other.git/info/refs"),
        ("POST", "/org/other.git/git-receive-pack"),
        ("GET", "/org/repo/settings"),
        ("POST", "/org/repo.git/git-upload-archive"),
        ("GET", "/"),
    ] {
        assert!(
            matches!(decide(true, method, path, &r), Verdict::Refuse(_)),
            "{method} {path}"
        );
    }
}

#[test]
fn the_api_opens_the_repository_and_a_few_user_reads() {
    let r = repo();
    for (method, path) in [
        ("GET", "/repos/org/repo"),
        ("GET", "/repos/org/repo/pulls"),
        ("POST", "/repos/org/repo/pulls"),
        ("POST", "/repos/org/repo/issues/1/comments"),
        ("GET", "/user"),
        ("GET", "/rate_limit"),
    ] {
        assert_eq!(
            decide(false, method, path, &r),
            Verdict::Allow,
            "{method} {path}"
        );
    }
    assert_eq!(decide(false, "POST", "/graphql", &r), Verdict::GraphqlQuery);
    for (method, path) in [
        ("POST", "/gists"),
        ("POST", "/user/repos"),
        ("POST", "/orgs/org/repos"),
        ("POST", "/repos/org/other/issues/1/comments"),
        ("GET", "/repos/org/other"),
        ("DELETE", "/repos/org/repo"),
        ("PATCH", "/repos/org/repo"),
        ("POST", "/repos/org/repo/forks"),
        ("PATCH", "/repos/org/repo/git/refs/heads/main"),
        ("PUT", "/repos/org/repo/contents/README.md"),
        ("PUT", "/repos/org/repo/pulls/1/merge"),
        ("POST", "/repos/org/repo/hooks"),
        ("PUT", "/repos/org/repo/actions/secrets/X"),
        ("DELETE", "/user"),
        ("GET", "/user/emails"),
    ] {
        assert!(
            matches!(decide(false, method, path, &r), Verdict::Refuse(_)),
            "{method} {path}"
        );
    }
}

#[test]
fn graphql_mutations_are_found_wherever_they_hide() {
    let ok = |q: &str| graphql_is_query(serde_json::json!({ "query": q }).to_string().as_bytes());
    ok("query { viewer { login } }").unwrap();
    ok("{ repository(owner:\"o\", name:\"mutation\") { id } }").unwrap();
    ok("# mutation in a comment\n{ viewer { login } }").unwrap();
    for bad in [
        "mutation { createGist(input:{}) { id } }",
        "  MUTATION_ALIAS: x mutation{a}",
        "query a { x } mutation b { y }",
        "\"\"\" x \" \"\"\" mutation { y }",
        "\"a\\\" \" mutation { y }",
        "subscription { x }",
    ] {
        assert!(ok(bad).is_err(), "{bad:?}");
    }
    let batch = serde_json::json!([{ "query": "{ a }" }, { "query": "mutation { b }" }]);
    assert!(graphql_is_query(batch.to_string().as_bytes()).is_err());
    assert!(graphql_is_query(b"not json").is_err());
    assert!(graphql_is_query(b"{\"variables\":{}}").is_err());
}

#[test]
fn the_github_section_is_validated() {
    let s: GithubSection = toml::from_str("scope = \"account\"\nrepos = [\"a/b\"]").unwrap();
    let scope = s.scope().unwrap();
    assert!(scope.account);
    assert_eq!(scope.extra_repos, vec![RepoRef::parse("a/b").unwrap()]);
    let bad: GithubSection = toml::from_str("scope = \"org\"").unwrap();
    assert_eq!(bad.scope().unwrap_err().0, "proxy.github.scope");
    let bad: GithubSection = toml::from_str("repos = [\"a/b/c\"]").unwrap();
    assert_eq!(bad.scope().unwrap_err().0, "proxy.github.repos");
}
