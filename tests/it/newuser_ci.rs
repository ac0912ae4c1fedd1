//! The suite on a fresh machine (issue 20, items 18 and 19): every test has
//! a time limit in nextest's configuration, and the tests read docker0's
//! address where Docker leaves the bridge's IPAM gateway empty.
use crate::common;

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn nextest_config() -> toml::Table {
    let text = std::fs::read_to_string(root().join(".config/nextest.toml"))
        .expect(".config/nextest.toml exists");
    text.parse().expect("nextest.toml parses")
}

/// `terminate-after` of a `slow-timeout` table (a bare period never kills).
fn terminates(slow: &toml::Value) -> Option<i64> {
    slow.get("terminate-after")?.as_integer()
}

#[test]
fn every_test_has_a_time_limit_by_default() {
    let config = nextest_config();
    let default = &config["profile"]["default"];
    let slow = default.get("slow-timeout").expect("a default slow-timeout");
    let kills_after = terminates(slow).expect("the default terminates a hung test");
    assert!((1..=5).contains(&kills_after), "{slow}");
    let period = slow["period"].as_str().unwrap();
    assert!(period.ends_with('s'), "{period}");
    let secs: u64 = period.trim_end_matches('s').parse().unwrap();
    assert!(
        secs * kills_after as u64 <= 300,
        "a default over 5 minutes: {slow}"
    );
}

#[test]
fn every_override_names_a_test_module_that_exists_and_still_terminates() {
    let config = nextest_config();
    let overrides = config["profile"]["default"]["overrides"]
        .as_array()
        .unwrap();
    assert!(!overrides.is_empty());
    for o in overrides {
        let filter = o["filter"].as_str().unwrap();
        let modules: Vec<&str> = filter
            .split("test(/^")
            .skip(1)
            .map(|rest| rest.split("::/)").next().unwrap())
            .collect();
        assert!(!modules.is_empty(), "{filter}");
        for b in modules {
            let file = root().join("tests/it").join(format!("{b}.rs"));
            assert!(file.exists(), "{filter}: no {}", file.display());
        }
        let slow = o
            .get("slow-timeout")
            .expect("an override sets slow-timeout");
        assert!(terminates(slow).is_some(), "{filter}: never terminates");
    }
}

#[test]
fn the_suite_runs_under_nextest_with_its_profiles() {
    let script = std::fs::read_to_string(root().join("scripts/test.sh")).unwrap();
    assert!(script.contains("cargo nextest run --profile"), "{script}");
    let runs_cargo_test = script
        .lines()
        .any(|l| l.trim_start().starts_with("cargo test"));
    assert!(!runs_cargo_test, "cargo test has no time limit");
    let provision = std::fs::read_to_string(root().join("scripts/ci-provision.sh")).unwrap();
    assert!(
        provision.contains("cargo install --locked"),
        "nextest is provisioned"
    );
    assert!(nextest_config()["profile"].get("ci").is_some());
}

#[test]
fn an_empty_ipam_gateway_falls_back_to_the_bridge_interface() {
    let ip = "5: docker0    inet 172.18.0.1/16 brd 172.18.255.255 scope global docker0\\";
    // Docker 20.10 on a fresh install: no gateway, only the interface.
    assert_eq!(
        common::docker::gateway_from(" |docker0", ip).as_deref(),
        Some("172.18.0.1")
    );
    assert_eq!(
        common::docker::gateway_from("172.17.0.1 |docker0", ip).as_deref(),
        Some("172.17.0.1")
    );
    assert_eq!(common::docker::gateway_from("|docker0", ""), None);
}

#[test]
fn the_bridge_gateway_is_an_address_of_this_host() {
    if !common::docker_ready() {
        return;
    }
    let gateway = common::docker::bridge_gateway();
    let addresses = std::process::Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .unwrap();
    let addresses = String::from_utf8_lossy(&addresses.stdout);
    assert!(
        addresses.contains(&format!("inet {gateway}/")),
        "{gateway} not in {addresses}"
    );
}
