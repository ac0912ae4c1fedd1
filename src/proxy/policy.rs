//! Which hosts the sessions may reach through the proxy: a preset
//! (`[proxy] policy`), widened by `allow_hosts` and narrowed by
//! `deny_hosts`; and which addresses are never reached (the host's own,
//! loopback, link-local, private networks) unless the user named the host.

use std::net::IpAddr;

use crate::proxy::rules::host_matches;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preset {
    /// Any host.
    Open,
    /// The model APIs, what the agent CLIs need, git forges, package registries.
    #[default]
    Balanced,
    /// The model APIs only.
    Locked,
}

impl Preset {
    pub fn parse(text: &str) -> Result<Preset, String> {
        match text {
            "open" => Ok(Preset::Open),
            "balanced" => Ok(Preset::Balanced),
            "locked" => Ok(Preset::Locked),
            _ => Err(format!(
                "unknown policy {text:?}: use open, balanced or locked"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Open => "open",
            Preset::Balanced => "balanced",
            Preset::Locked => "locked",
        }
    }

    /// The host patterns of the preset (empty for open: everything).
    pub fn hosts(self) -> Vec<&'static str> {
        match self {
            Preset::Open => Vec::new(),
            Preset::Locked => MODEL_APIS.to_vec(),
            Preset::Balanced => [MODEL_APIS, AGENT_SERVICES, GIT_FORGES, REGISTRIES].concat(),
        }
    }

    fn allows(self, host: &str) -> bool {
        self == Preset::Open || self.hosts().iter().any(|p| host_matches(p, host))
    }
}

pub const MODEL_APIS: &[&str] = &["api.anthropic.com", "api.openai.com"];

/// Sign-in and the services the agent CLIs call besides the model API.
const AGENT_SERVICES: &[&str] = &[
    "console.anthropic.com",
    "statsig.anthropic.com",
    "claude.ai",
    "downloads.claude.ai",
    "auth.openai.com",
    "chatgpt.com",
];

const GIT_FORGES: &[&str] = &[
    "github.com",
    "*.github.com",
    "*.githubusercontent.com",
    "gitlab.com",
    "*.gitlab.com",
    "bitbucket.org",
    "*.bitbucket.org",
    "codeberg.org",
];

const REGISTRIES: &[&str] = &[
    // npm and yarn
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    // PyPI
    "pypi.org",
    "files.pythonhosted.org",
    // crates.io and rustup
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    "static.rust-lang.org",
    // Go
    "proxy.golang.org",
    "sum.golang.org",
    // Debian and Ubuntu
    "deb.debian.org",
    "security.debian.org",
    "archive.ubuntu.com",
    "security.ubuntu.com",
    "ports.ubuntu.com",
];

/// The proxy's host policy, from `[proxy]`.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub preset: Preset,
    /// Exact hosts or `*.suffix`, allowed on top of the preset.
    pub allow_hosts: Vec<String>,
    /// Exact hosts or `*.suffix`, refused whatever else allows them.
    pub deny_hosts: Vec<String>,
}

impl Policy {
    /// Is `host` allowed? `resolved` says the user pointed it somewhere
    /// with `[proxy.resolve]`, which counts as allowing it. The error is
    /// the whole reason, with the setting that would change it.
    pub fn check(&self, host: &str, resolved: bool) -> Result<(), String> {
        if let Some(p) = self.deny_hosts.iter().find(|p| host_matches(p, host)) {
            return Err(format!(
                "{host} is refused by [proxy] deny_hosts ({p:?}); remove it there to allow it"
            ));
        }
        if resolved || self.named(host) || self.preset.allows(host) {
            return Ok(());
        }
        Err(format!(
            "{host} is not allowed by the proxy policy {:?}; to allow it, add \"{host}\" to [proxy] allow_hosts in config.toml (or set [proxy] policy = \"open\"), then run `clauderon daemon restart`",
            self.preset.as_str()
        ))
    }

    /// The refusal of the in-cluster daemon's proxy: it reads no
    /// config.toml, so the settings `check` names change nothing there.
    pub fn in_cluster_refusal(&self, host: &str) -> String {
        format!(
            "{host} is not allowed by the in-cluster daemon's proxy policy {:?}, its default: that daemon reads no config.toml, so [proxy] policy and allow_hosts on your machine do not reach kubernetes sessions; use a host the policy allows, or --backend docker or podman, whose proxy reads them",
            self.preset.as_str()
        )
    }

    /// Listed in allow_hosts, by a pattern that matches it.
    fn named(&self, host: &str) -> bool {
        self.allow_hosts.iter().any(|p| host_matches(p, host))
    }

    /// Listed in allow_hosts by its exact name: the user's explicit wish,
    /// which lets it resolve to a private address.
    pub fn named_exactly(&self, host: &str) -> bool {
        self.allow_hosts.iter().any(|p| p == host)
    }
}

/// Addresses no session reaches through the proxy unless the user named the
/// host: loopback, unspecified, link-local (cloud metadata), the private
/// ranges where the host's bridges and the local network live, and the
/// special ranges (this network, benchmarking, reserved, multicast). IPv6
/// forms that carry an IPv4 address (mapped, NAT64, 6to4) count as it.
pub fn private(ip: IpAddr) -> bool {
    let ip = unmapped(ip);
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            local(ip)
                || v4.is_private()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => local(ip) || v6.is_multicast() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Loopback, unspecified and link-local: never reached, whatever the user said.
pub fn local(ip: IpAddr) -> bool {
    let ip = unmapped(ip);
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The IPv4 address an IPv6 one carries, if it does: `::ffff:a.b.c.d`
/// (mapped), `64:ff9b::a.b.c.d` (NAT64), `2002:aabb:ccdd::/48` (6to4).
pub fn unmapped(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let octets = v6.octets();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return IpAddr::from([octets[12], octets[13], octets[14], octets[15]]);
    }
    if s[0] == 0x2002 {
        return IpAddr::from([octets[2], octets[3], octets[4], octets[5]]);
    }
    ip
}

/// Is `ip` (in any spelling) an address of this machine? Interfaces come
/// and go (bridges, DHCP, IPv6 temporary addresses), so they are read again
/// when the last reading is more than a few seconds old.
pub fn is_own_address(ip: IpAddr) -> bool {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static CACHE: Mutex<Option<(Instant, Vec<IpAddr>)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let fresh = cache
        .as_ref()
        .is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(5));
    if !fresh {
        let addrs = own_addresses().into_iter().map(unmapped).collect();
        *cache = Some((Instant::now(), addrs));
    }
    cache
        .as_ref()
        .is_some_and(|(_, addrs)| addrs.contains(&unmapped(ip)))
}

/// The addresses of this machine's network interfaces: a request to one of
/// them reaches the host's own services.
#[cfg(unix)]
pub fn own_addresses() -> Vec<IpAddr> {
    // getifaddrs(3), through if-addrs: the interfaces' IPv4 and IPv6 addresses.
    if_addrs::get_if_addrs()
        .map(|interfaces| interfaces.iter().map(|i| i.ip()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_widen_and_deny_narrows() {
        let p = Policy::default();
        for ok in [
            "api.anthropic.com",
            "github.com",
            "codeload.github.com",
            "pypi.org",
        ] {
            p.check(ok, false).unwrap();
        }
        let e = p.check("evil.example", false).unwrap_err();
        assert!(
            e.contains("\"balanced\"") && e.contains("allow_hosts"),
            "{e}"
        );
        p.check("evil.example", true).unwrap();
        let locked = Policy {
            preset: Preset::Locked,
            allow_hosts: vec!["*.corp.example".into()],
            deny_hosts: vec!["api.openai.com".into()],
        };
        locked.check("api.anthropic.com", false).unwrap();
        locked.check("git.corp.example", false).unwrap();
        assert!(locked.check("github.com", false).is_err());
        let e = locked.check("api.openai.com", true).unwrap_err();
        assert!(e.contains("deny_hosts"), "{e}");
        Policy {
            preset: Preset::Open,
            ..Policy::default()
        }
        .check("anything.example", false)
        .unwrap();
    }

    #[test]
    fn local_and_private_addresses_in_any_spelling() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "169.254.169.254",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "fe80::1",
        ] {
            assert!(
                local(ip.parse().unwrap()) && private(ip.parse().unwrap()),
                "{ip}"
            );
        }
        for ip in [
            "172.17.0.1",
            "10.88.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(private(ip) && !local(ip), "{ip}");
        }
        for ip in [
            "64:ff9b::a00:1",
            "2002:ac11:1::1",
            "0.1.2.3",
            "198.18.0.1",
            "240.0.0.1",
            "224.0.0.1",
            "ff02::1",
        ] {
            assert!(private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:db8::1", "100.128.0.1", "64:ff9b::808:808"] {
            assert!(!private(ip.parse().unwrap()), "{ip}");
        }
        assert!(own_addresses().iter().any(|a| a.is_loopback()));
        for own in own_addresses().into_iter().filter(IpAddr::is_ipv4) {
            let IpAddr::V4(v4) = own else { continue };
            assert!(is_own_address(IpAddr::V6(v4.to_ipv6_mapped())), "{own}");
        }
    }
}
