//! Whether two services on one internal Podman network can talk here.
//!
//! Under the netavark network backend (Podman 4.3 picks it on a fresh
//! machine), an internal network gets no firewall rule at all. Where Docker
//! also runs, it sets iptables' `FORWARD` policy to `DROP` and loads
//! `br_netfilter` (`net.bridge.bridge-nf-call-iptables = 1`), so frames
//! bridged between two containers of one network pass `FORWARD` and are
//! dropped: a compose project's services never reach each other. CNI's
//! firewall plugin adds the accept rules itself, so CNI is not affected.
//!
//! clauderon does not change the host's firewall: `create` refuses such a
//! project and `doctor` warns, both with the one rule that fixes it
//! (`ACCEPT_RULE`: bridged traffic within one netavark bridge, nothing
//! routed, so sessions stay apart and nothing reaches the host).

use crate::backend::engine::PODMAN;
use crate::error::{Error, Result};
use crate::exec::Cmd;

/// The rule that lets frames through a netavark bridge (`podman0`,
/// `podman1`, ...): only bridged ones, so one network's containers reach
/// each other and no routed packet (another network, the host) is let by.
pub const ACCEPT_RULE: [&str; 9] = [
    "FORWARD",
    "-i",
    "podman+",
    "-o",
    "podman+",
    "-m",
    "physdev",
    "--physdev-is-bridged",
    "-j",
];

const BRIDGE_NF: &str = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/// What decides it, read from the machine.
#[derive(Debug, Default)]
pub struct Facts {
    /// `podman info`'s network backend (`netavark`, `cni`).
    pub backend: String,
    /// br_netfilter is loaded and sends bridged frames through iptables.
    pub bridge_nf_call_iptables: bool,
    /// `iptables -S FORWARD`, or None when it cannot be read (not root,
    /// no iptables): then nothing is claimed.
    pub forward_rules: Option<String>,
    /// `iptables -C` found `ACCEPT_RULE`.
    pub accept_rule_present: bool,
}

/// The shell command that adds `ACCEPT_RULE` (what `create` and `doctor`
/// print as the fix).
pub fn fix_command() -> String {
    format!("sudo iptables -I {} ACCEPT", ACCEPT_RULE.join(" "))
}

/// Reads the facts: one `podman info`, a sysctl, two `iptables` calls
/// (only when the first two say it matters).
pub fn facts() -> Facts {
    let backend = PODMAN
        .cmd()
        .args(["info", "--format", "{{.Host.NetworkBackend}}"])
        .run()
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default();
    let bridge_nf_call_iptables = std::fs::read_to_string(BRIDGE_NF)
        .map(|v| v.trim() == "1")
        .unwrap_or(false);
    let mut facts = Facts {
        backend,
        bridge_nf_call_iptables,
        ..Facts::default()
    };
    if facts.backend == "netavark" && facts.bridge_nf_call_iptables {
        facts.forward_rules = Cmd::new(["iptables", "-S", "FORWARD"])
            .run()
            .ok()
            .map(|o| o.stdout);
        facts.accept_rule_present = Cmd::new(["iptables", "-C"])
            .args(ACCEPT_RULE)
            .arg("ACCEPT")
            .run()
            .is_ok();
    }
    facts
}

/// Why services on one internal network cannot reach each other, if they
/// cannot: netavark, br_netfilter on, `FORWARD` dropping by default, and
/// no `ACCEPT_RULE`.
pub fn blocked(facts: &Facts) -> Option<String> {
    if facts.backend != "netavark" || !facts.bridge_nf_call_iptables || facts.accept_rule_present {
        return None;
    }
    let rules = facts.forward_rules.as_deref()?;
    let drops = rules
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["-P", "FORWARD", "DROP"]);
    drops.then(|| {
        "Podman uses the netavark network backend, which adds no firewall rule for an internal network, \
         and iptables' FORWARD policy is DROP (Docker sets it) with br_netfilter loaded \
         (net.bridge.bridge-nf-call-iptables = 1): the services of one compose project could not reach each other"
            .to_string()
    })
}

/// `create --compose` on Podman in network mode proxy: refused, with the
/// fix, when the project's services could not reach each other.
pub fn check() -> Result<()> {
    match blocked(&facts()) {
        None => Ok(()),
        Some(why) => Err(Error::failed(why).with_fix(format!(
            "let frames through netavark's bridges (only bridged ones: sessions stay apart): `{}`; \
             or give Podman the CNI backend ([network] network_backend = \"cni\" in containers.conf, then `podman system reset`); \
             or --network open, or --backend docker",
            fix_command()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netavark(rules: &str) -> Facts {
        Facts {
            backend: "netavark".into(),
            bridge_nf_call_iptables: true,
            forward_rules: Some(rules.into()),
            accept_rule_present: false,
        }
    }

    #[test]
    fn netavark_behind_dockers_drop_policy_is_blocked() {
        let facts = netavark("-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n");
        let why = blocked(&facts).expect("blocked");
        assert!(why.contains("netavark") && why.contains("FORWARD"), "{why}");
    }

    #[test]
    fn the_accept_rule_cni_an_accept_policy_or_no_br_netfilter_is_not_blocked() {
        let mut with_rule = netavark("-P FORWARD DROP\n");
        with_rule.accept_rule_present = true;
        let mut cni = netavark("-P FORWARD DROP\n");
        cni.backend = "cni".into();
        let mut no_br_nf = netavark("-P FORWARD DROP\n");
        no_br_nf.bridge_nf_call_iptables = false;
        let mut unreadable = netavark("");
        unreadable.forward_rules = None;
        for facts in [
            with_rule,
            cni,
            no_br_nf,
            unreadable,
            netavark("-P FORWARD ACCEPT\n"),
        ] {
            assert_eq!(blocked(&facts), None, "{facts:?}");
        }
    }

    #[test]
    fn the_fix_is_one_pastable_command() {
        assert_eq!(
            fix_command(),
            "sudo iptables -I FORWARD -i podman+ -o podman+ -m physdev --physdev-is-bridged -j ACCEPT"
        );
    }
}
