//! One set of insta filters for every snapshot, applied by `snapshot!`: what
//! changes from run to run (temp paths, ports the kernel picked, tokens, the
//! uid, the random suffix of `unique()` names) becomes a stable placeholder.
//!
//! Each filter matches only what is random: the fixed ports, uids and ids of
//! the plan fixtures (39128, `--user 1000:1000`, the all-zero id) stay as
//! they are, so a snapshot still shows them.

/// (regex, replacement) pairs, applied in order.
pub const FILTERS: &[(&str, &str)] = &[
    // tempfile's directories (`/tmp/.tmpAbC123`, under any TMPDIR).
    (r"(?:/[\w.-]+)*/\.tmp[A-Za-z0-9]{6}", "[TMP]"),
    // A port the kernel picked, as a URL or a message names it.
    (
        r"://(127\.0\.0\.1|localhost|\[::1\]):[0-9]{2,5}\b",
        "://$1:[PORT]",
    ),
    (r"\bport [1-9][0-9]{1,4}\b", "port [PORT]"),
    // A session or API token: 32 random bytes, hex.
    (r"\b[0-9a-f]{64}\b", "[TOKEN]"),
    // The uid and gid of whoever runs the tests (`id`'s form).
    (r"\b(uid|gid)=[0-9]+", "$1=[UID]"),
    // `unique("x")` names a test's resources `t-x-<6 hex>`.
    (r"\bt-([a-z0-9-]+?)-[0-9a-f]{6}\b", "t-$1-[SUFFIX]"),
];

/// insta settings with the shared filters.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings
}

/// The text with the shared filters applied, for an exact `assert_eq!` of a
/// message that names a temp path, a port or a session.
pub fn redact(text: &str) -> String {
    FILTERS
        .iter()
        .fold(text.to_string(), |text, (pattern, replacement)| {
            regex::Regex::new(pattern)
                .expect("a valid filter")
                .replace_all(&text, *replacement)
                .into_owned()
        })
}

/// `insta::assert_snapshot!` through the shared filters; takes the same
/// arguments (an optional name, then the value).
macro_rules! snapshot {
    ($($args:tt)+) => {
        $crate::common::filters::settings().bind(|| insta::assert_snapshot!($($args)+))
    };
}
pub(crate) use snapshot;
