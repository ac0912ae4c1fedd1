//! The path normaliser and the glob matcher, by example and by property:
//! random hostile paths never panic, and nothing that is refused or that a
//! pattern did not name gets through.

use super::*;

use crate::proxy::fuzz_json::Rng;

#[test]
fn paths_normalise_or_are_refused() {
    assert_eq!(normalize_path("/repos/o/r").unwrap(), "/repos/o/r");
    assert_eq!(normalize_path("/repos/o/r/").unwrap(), "/repos/o/r/");
    assert_eq!(normalize_path("/a%41b").unwrap(), "/aAb");
    assert_eq!(normalize_path("/").unwrap(), "/");
    for bad in [
        "/repos/o/r/../x",
        "/repos/o/r/%2e%2e/x",
        "/repos/o/r/%2E%2e",
        "/repos/./o",
        "/repos/%2e/o",
        "//repos/o/r",
        "/repos//o/r",
        "/repos/o%2fr",
        "/repos/o%2Fr",
        "/repos/o%5cr",
        "/repos/o\\r",
        "/repos/%252e%252e",
        "/repos/%0a",
        "/repos/%",
        "/repos/%zz",
        "/repos/%ff",
        "repos/o",
        "",
    ] {
        assert!(normalize_path(bad).is_err(), "{bad:?} was let through");
    }
}

#[test]
fn globs_match_segments() {
    assert!(glob_matches("/v1/messages", "/v1/messages"));
    assert!(!glob_matches("/v1/messages", "/v1/messages/x"));
    assert!(glob_matches("/v1/*", "/v1/messages"));
    assert!(!glob_matches("/v1/*", "/v1/a/b"));
    assert!(glob_matches("/v1/**", "/v1/a/b"));
    assert!(glob_matches("/v1/**", "/v1"));
    assert!(glob_matches("/**/x", "/a/b/x"));
    assert!(glob_matches("/repos/o/r/**", "/repos/o/r/"));
    assert!(!glob_matches("/repos/o/r/**", "/repos/o/rr/x"));
    assert!(glob_matches("/a/b?c/*.json", "/a/bxc/f.json"));
    assert!(!glob_matches("/a/*.json", "/a/f.jsonx"));
}

#[test]
fn bounds_check_method_then_path() {
    let b = Bounds {
        paths: vec!["/v1/**".into()],
        methods: vec!["post".into()],
    }
    .validated()
    .unwrap();
    b.check("POST", "/v1/messages").unwrap();
    assert!(
        b.check("GET", "/v1/messages")
            .unwrap_err()
            .contains("methods")
    );
    assert!(b.check("POST", "/v2/x").unwrap_err().contains("paths"));
    assert!(b.check("POST", "/v1/../v2/x").is_err());
    assert!(b.check("POST", "/v1/%2e%2e/v2/x").is_err());
    assert!(Bounds::default().check("DELETE", "//x/../y").is_ok());
    for bad in ["v1/**", "/v1/../x", "/a//b", "/%2f"] {
        let b = Bounds {
            paths: vec![bad.into()],
            methods: vec![],
        };
        assert!(b.validated().is_err(), "{bad:?}");
    }
    let m = Bounds {
        paths: vec![],
        methods: vec!["GE T".into()],
    };
    assert!(m.validated().is_err());
}

/// A random path from pieces an attacker would use.
fn hostile_path(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "/", "//", "..", ".", "%2e", "%2E", "%2f", "%2F", "%5c", "%25", "%", "%0", "%00", "%0a",
        "\\", "repos", "o", "r", "allowed", "secret", "*", "?", "é", "%c3%a9", "%ff", "a", "x.git",
    ];
    let mut path = String::from("/");
    for _ in 0..rng.below(12) {
        path.push_str(rng.pick(PIECES));
    }
    path
}

#[test]
fn hostile_paths_never_escape_the_pattern() {
    let seed = Rng::seed();
    let mut rng = Rng::new(seed);
    let pattern = "/allowed/**";
    for _ in 0..20_000 {
        let raw = hostile_path(&mut rng);
        let Ok(path) = normalize_path(&raw) else {
            continue;
        };
        // Property: a normalised path has no dot segments, no empty inner
        // segment, no backslash; and it matches the pattern only if its
        // first segment is exactly `allowed`.
        let segs: Vec<&str> = path[1..].split('/').collect();
        assert!(
            segs.iter().all(|s| *s != "." && *s != "..") && !path.contains('\\'),
            "seed {seed}: {raw:?} -> {path:?}"
        );
        assert!(
            segs[..segs.len() - 1].iter().all(|s| !s.is_empty()),
            "seed {seed}: {raw:?} -> {path:?}"
        );
        let inside = segs[0] == "allowed";
        assert_eq!(
            glob_matches(pattern, &path),
            inside,
            "seed {seed}: {raw:?} -> {path:?}"
        );
    }
}

#[test]
fn many_double_stars_stay_cheap() {
    let pattern = format!("{}/z", "/**".repeat(60));
    let path = "/a".repeat(2000);
    let started = std::time::Instant::now();
    assert!(!glob_matches(&pattern, &path));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
