use super::*;

#[test]
fn hosts_normalize_or_are_refused() {
    assert_eq!(
        normalize_host("API.GitHub.com.").as_deref(),
        Some("api.github.com")
    );
    assert_eq!(normalize_host("[::1]").as_deref(), Some("::1"));
    assert_eq!(
        normalize_host(&format!("a{}", ".".repeat(300))).as_deref(),
        Some("a")
    );
    assert!(normalize_host("a..b").is_none());
    assert!(normalize_host(&"a.".repeat(200)).is_none());
    assert!(normalize_host("evil host").is_none());
}
