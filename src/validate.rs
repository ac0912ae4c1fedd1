//! Values that land in an engine's argv are checked here first, so none can
//! become a flag or smuggle syntax: image references by the OCI reference
//! grammar, environment variable names, capability names. The CLI, the
//! config file and (later) the HTTP API all go through these.

/// An image reference given by the user (`what` says where from), or an
/// error that names the option and shows the form expected.
pub fn image_option(image: &str, what: &str) -> crate::error::Result<()> {
    image_reference(image).map_err(|why| {
        crate::error::Error::input(format!("invalid image reference {image:?} ({what}): {why}"))
            .with_fix(
                "name an image like python:3.12, ghcr.io/owner/image:tag or image@sha256:<digest>",
            )
    })
}

/// Checks an image reference against the grammar of the OCI distribution
/// spec (and Docker's reference package): `[host[:port]/]path[:tag][@digest]`.
/// Returns why it is not one.
pub fn image_reference(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("it is empty".into());
    }
    if reference.starts_with('-') {
        return Err("it starts with `-`, so an engine would read it as a flag".into());
    }
    if let Some(c) = reference
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '\'' | '"' | '$' | '`' | '\\'))
    {
        return Err(format!(
            "{} is not allowed in an image reference",
            shown_char(c)
        ));
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        digest_ok(d).then_some(()).ok_or_else(|| {
            format!("{d:?} is not a digest (algorithm:hex, e.g. sha256:<64 hex digits>)")
        })?;
    }
    // A tag follows the last `:` that comes after the last `/`.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag
        && !tag_ok(t)
    {
        return Err(format!(
            "{t:?} is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128)"
        ));
    }
    if name.len() > 255 {
        return Err("the name is longer than 255 characters".into());
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && looks_like_domain(parts[0]) {
        let domain = parts.remove(0);
        if !domain_ok(domain) {
            return Err(format!("{domain:?} is not a valid registry host"));
        }
    }
    match parts.iter().find(|p| !path_component_ok(p)) {
        Some(p) => Err(format!(
            "{p:?} is not a valid name component (lowercase letters and digits, separated by `.`, `_`, `__` or `-`)"
        )),
        None => Ok(()),
    }
}

/// Docker's rule: the first component is a registry if it has a `.` or a
/// `:`, or is `localhost`, or has an upper-case letter.
fn looks_like_domain(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.chars().any(|c| c.is_ascii_uppercase())
}

fn domain_ok(domain: &str) -> bool {
    let (host, port) = match domain.find(']') {
        // An IPv6 literal: `[addr]` or `[addr]:port`.
        Some(end) => match &domain[end + 1..] {
            "" => (&domain[..=end], None),
            rest => match rest.strip_prefix(':') {
                Some(p) => (&domain[..=end], Some(p)),
                None => return false,
            },
        },
        None => match domain.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        },
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        })
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or any number of `-`.
fn path_component_ok(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`
fn tag_ok(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `algorithm:hex`, the algorithm `[a-z0-9]+([+._-][a-z0-9]+)*`, at least 32 hex digits.
fn digest_ok(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub fn env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Variables that change how a program on the host runs: the dynamic
/// loader's, glibc's, the Go runtime's (docker, podman), the engines' own,
/// Python's (podman-compose) and the search paths. An API request's `env`
/// reaches the container through the environment of the host programs
/// that start it (so its values stay out of argv): these names would run
/// the caller's code there, so the API refuses them.
pub fn changes_host_programs(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH",
        "TMPDIR",
        "IFS",
        "ENV",
        "BASH_ENV",
        "SHELLOPTS",
        "GCONV_PATH",
        "GLIBC_TUNABLES",
        "HOSTALIASES",
        "LOCPATH",
        "NLSPATH",
        "RESOLV_HOST_CONF",
        "TZDIR",
        "GODEBUG",
        "GOTRACEBACK",
        "GOMAXPROCS",
        "GOGC",
        "GOMEMLIMIT",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
        "REGISTRY_AUTH_FILE",
        "STORAGE_DRIVER",
        "STORAGE_OPTS",
        "SSL_CERT_DIR",
    ];
    const PREFIXES: &[&str] = &[
        "LD_",
        "MALLOC_",
        "DOCKER_",
        "PODMAN_",
        "CONTAINERS_",
        "CONTAINER_",
        "BUILDAH_",
        "XDG_",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The Linux capabilities, without their `CAP_` prefix.
const CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// A capability name in its canonical form (`chown`, `CAP_CHOWN` ->
/// `CHOWN`), or why it is not one.
pub fn capability(name: &str) -> Result<String, String> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if CAPABILITIES.contains(&bare) {
        return Ok(bare.to_string());
    }
    Err(format!(
        "{name:?} is not a Linux capability (e.g. CHOWN, SETUID, SETGID, DAC_OVERRIDE, FOWNER, NET_BIND_SERVICE; see `man 7 capabilities`)"
    ))
}

/// A Kubernetes DNS-1123 label (namespaces, object names): lowercase
/// letters, digits and `-`, starting and ending with a letter or digit, at
/// most 63 characters.
pub fn dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("it must be 1 to 63 characters long".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{} is not allowed (lowercase letters, digits and `-` only)",
            shown_char(c)
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain (storage classes, secrets, runtime classes): labels
/// joined by `.`, at most 253 characters.
pub fn dns_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("it is longer than 253 characters".into());
    }
    name.split('.').try_for_each(dns_label)
}

/// A kubectl context name: any text kubeconfig allows, but no control
/// characters (it is passed as one `--context=` argument, never a flag).
pub fn kube_context(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{} is not allowed in a context name",
            shown_char(c)
        ));
    }
    Ok(())
}

/// A storage size as Kubernetes writes quantities: digits with an optional
/// binary (`Ki` .. `Ei`) or decimal (`k`, `M`, `G`, `T`, `P`, `E`) suffix.
pub fn storage_size(size: &str) -> Result<(), String> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    let units = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E",
    ];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || !units.contains(&unit) {
        return Err(format!(
            "{size:?} is not a size: use a whole number with a unit like 10Gi, 500Mi or 1Ti"
        ));
    }
    if digits.chars().all(|c| c == '0') {
        return Err("the size must be larger than 0".into());
    }
    Ok(())
}

/// A character in an error, as a reader takes it: `'` shown as `'`, not as
/// Rust's escaped `'\''`; what cannot be seen (a newline, a space, a
/// control character) escaped.
pub fn shown_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("{}", c.escape_debug()).replace(' ', "a space")
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_follow_the_grammar() {
        for ok in [
            "alpine",
            "python:3.12",
            "library/python:3.12-slim",
            "docker.io/library/python:3.12",
            "localhost:5000/team/app:1",
            "ghcr.io/o/r/img:v1.2.3",
            "my-registry.example.com:443/a__b/c-d--e:latest",
            "clauderon-agent:latest",
            "[::1]:5000/x:y",
            "[::1]/x",
            "python@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "python:3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            image_reference(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "--privileged",
            "-v=/:/host",
            "$(id)",
            "python:3.12 --privileged",
            "Python",
            "a//b",
            "a:",
            "a:-x",
            "a@sha256:12",
            "im\nage",
            "ima'ge",
            "ünicode",
            "a/.b",
            "x:y:z",
        ] {
            assert!(image_reference(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn env_names_and_capabilities() {
        assert!(env_name("A_1") && env_name("_x") && !env_name("1A") && !env_name("-e"));
        assert!(!env_name("A=B") && !env_name("") && !env_name("Ä"));
        assert_eq!(capability("cap_chown").unwrap(), "CHOWN");
        assert_eq!(capability("NET_BIND_SERVICE").unwrap(), "NET_BIND_SERVICE");
        for bad in ["--privileged", "ALL", "$(x)", "", "chown,setuid"] {
            assert!(capability(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod shown_char_tests {
    use super::shown_char;

    #[test]
    fn a_quote_shows_as_itself_and_the_unseen_escaped() {
        let shown: Vec<String> = ['\'', '"', '$', ' ', '\n', '\u{7}', 'é']
            .into_iter()
            .map(shown_char)
            .collect();
        assert_eq!(
            shown,
            ["`'`", "`\"`", "`$`", "a space", "\\n", "\\u{7}", "`é`"]
        );
    }
}
