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
    (r"(?:/[\w.-]+)*/clauderon-user[A-Za-z0-9]{6}", "[USER]"),
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
    // The label a home's kubernetes objects carry: a hash of its path.
    (
        r"clauderon\.io/home=[0-9a-f]{16}\b",
        "clauderon.io/home=[HOME-LABEL]",
    ),
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
                selector clauderon.io/home=bc1a4ba95b9baaea,\n\
                kept: --forward '127.0.0.1:39128=/run/x' --user 1000:1000 port 0";
    settings().bind(|| {
        insta::assert_snapshot!(text, @r"
        home [HOME]/sessions, repo [REPO],
        dir [TMP]/f, url http://127.0.0.1:[PORT]/v1, listening on port [PORT],
        token [TOKEN],
        uid=[UID] gid=[UID], session t-compose-[SUFFIX],
        selector clauderon.io/home=[HOME-LABEL],
        kept: --forward '127.0.0.1:39128=/run/x' --user 1000:1000 port 0
        ");
    });
}

/// Like `transcript`, with only clauderon's own words of a failure that
/// quotes the engine: from its `error:` line on, the engine's text (which
/// differs by engine version and machine: its resolver, its ids) replaced by
/// `[the engine's message]`, and the engine's own lines left out. Warnings
/// before the error (the daemon's missing credentials) depend on the
/// caller's environment and are left out too.
pub fn engine_transcript(args: &[&str], run: &super::Run) -> String {
    let mut own = String::new();
    let from_error = run.stderr.find("clauderon: error:").unwrap_or(0);
    for line in run.stderr[from_error..].lines() {
        if let Some(error) = line.strip_prefix("clauderon: error:") {
            let quoted = [": docker: ", ": podman: ", ": Unable to find "]
                .iter()
                .filter_map(|q| error.find(q))
                .min();
            let ours = quoted.map_or(error, |at| &error[..at]);
            let tail = if quoted.is_some() {
                ": [the engine's message]"
            } else {
                ""
            };
            own.push_str(&format!("clauderon: error:{ours}{tail}\n"));
        } else if line.starts_with("  ") || line.starts_with("(rolled back") {
            own.push_str(line);
            own.push('\n');
        }
    }
    let run = super::Run {
        code: run.code,
        stdout: String::new(),
        stderr: own,
    };
    transcript(args, &run)
}
