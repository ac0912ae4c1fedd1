//! One set of insta filters for every snapshot, applied by `snapshot!`: what
//! changes from run to run (temp paths, ports the kernel picked, tokens, the
//! uid, the random suffix of `unique()` names) becomes a stable placeholder.
//!
//! Each filter matches only what is random: the fixed ports, uids and ids of
//! the plan fixtures (39128, `--user 1000:1000`, the all-zero id) stay as
//! they are, so a snapshot still shows them.

/// (regex, replacement) pairs, applied in order.
pub const FILTERS: &[(&str, &str)] = &[
    // tempfile's directories (`/tmp/.tmpAbC123`, under any TMPDIR), and
    // the test's own home and repository (`Env::new`).
    (r"(?:/[\w.-]+)*/\.tmp[A-Za-z0-9]{6}", "[TMP]"),
    (r"(?:/[\w.-]+)*/clauderon-home[A-Za-z0-9]{6}", "[HOME]"),
    (r"(?:/[\w.-]+)*/clauderon-repo[A-Za-z0-9]{6}", "[REPO]"),
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

/// `insta::assert_snapshot!` through the shared filters; takes the same
/// arguments (an optional name, then the value).
macro_rules! snapshot {
    ($($args:tt)+) => {
        $crate::common::filters::settings().bind(|| insta::assert_snapshot!($($args)+))
    };
}
pub(crate) use snapshot;

/// A command and what it printed on stderr, as a reader would see it in a
/// terminal, for a snapshot of an error message.
pub fn transcript(args: &[&str], run: &super::Run) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| shell_words::quote(a).into_owned())
        .collect();
    format!(
        "$ clauderon {}\n{}[exit {}]\n",
        quoted.join(" "),
        run.stderr,
        run.code
    )
}

#[test]
fn the_filters_replace_what_is_random_and_keep_the_fixed_values() {
    let text = "home /tmp/clauderon-homeAb12Cd/sessions, repo /var/tmp/clauderon-repoZZ99yy,\n\
                dir /tmp/.tmpXy12Ab/f, url http://127.0.0.1:45123/v1, listening on port 38211,\n\
                token 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef,\n\
                uid=0 gid=1000, session t-compose-a1b2c3,\n\
                kept: --forward '127.0.0.1:39128=/run/x' --user 1000:1000 port 0";
    settings().bind(|| {
        insta::assert_snapshot!(text, @r"
        home [HOME]/sessions, repo [REPO],
        dir [TMP]/f, url http://127.0.0.1:[PORT]/v1, listening on port [PORT],
        token [TOKEN],
        uid=[UID] gid=[UID], session t-compose-[SUFFIX],
        kept: --forward '127.0.0.1:39128=/run/x' --user 1000:1000 port 0
        ");
    });
}
