//! The books' settings and commands with bad input: `[budget]` and
//! `[pricing]` shown by `config show` and refused when wrong (naming the
//! key), `--budget` and `--since` refused with exit 2, and `usage` on a
//! home without calls.

use crate::common::{Env, fake_session};
use serde_json::Value;

#[test]
fn budget_and_pricing_settings_are_shown_and_bad_ones_refused() {
    let env = Env::new();
    let cfg = env.home().join("config.toml");
    let base = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "{base}[budget]\nsession_usd = 2.5\n[pricing.\"my-model\"]\ninput = 1.0\noutput = 2.0\n"
        ),
    )
    .unwrap();
    let shown = env.run(&["config", "show"]).ok().stdout;
    assert!(
        shown.contains("session_usd") && shown.contains("2.5"),
        "{shown}"
    );
    assert!(
        shown.contains("daily_usd") && shown.contains("(none: not limited)"),
        "{shown}"
    );
    assert!(shown.contains("my-model"), "{shown}");
    for (bad, key) in [
        ("[budget]\ndaily_usd = -1\n", "budget.daily_usd"),
        ("[budget]\nsession_usd = \"x\"\n", "session_usd"),
        (
            "[pricing.\"m\"]\ninput = -3.0\noutput = 1.0\n",
            "pricing.\"m\"",
        ),
        ("[pricing.\"m\"]\ninput = 1.0\n", "output"),
        ("[budget]\nmonthly_usd = 1\n", "monthly_usd"),
    ] {
        std::fs::write(&cfg, format!("{base}{bad}")).unwrap();
        let e = env.run(&["config", "show"]);
        assert_eq!(e.code, 2, "{bad}: {}", e.stderr);
        assert!(e.stderr.contains(key), "{bad}: {}", e.stderr);
    }
    std::fs::write(&cfg, base).unwrap();
    for budget in ["-1", "abc", "NaN", "1e12", "$(id)"] {
        let e = env.run(&[
            "create",
            "--repo",
            ".",
            "--dry-run",
            &format!("--budget={budget}"),
        ]);
        assert_eq!(e.code, 2, "{budget}: {}", e.stderr);
    }
    let e = env.run(&["usage", "--since", "yesterday"]);
    assert_eq!(e.code, 2, "{}", e.stderr);
    assert!(
        e.stderr.contains("fix:") || e.stderr.contains("7d"),
        "{}",
        e.stderr
    );
}

#[test]
fn usage_and_budget_on_a_home_without_calls() {
    let env = Env::new();
    fake_session(&env, "quiet", "tok");
    let out: Value = serde_json::from_str(&env.run(&["usage", "--json"]).ok().stdout).unwrap();
    assert_eq!(out["total"]["requests"], 0);
    assert_eq!(out["total"]["cost_usd"], Value::Null);
    let table = env.run(&["usage", "--by", "day"]).ok().stdout;
    assert!(
        table.starts_with("DAY") && table.contains("TOTAL"),
        "{table}"
    );
    let e = env.run(&["budget", "quiet", "--add", "1"]);
    assert_eq!(e.code, 2, "{}", e.stderr);
    assert!(e.stderr.contains("budget quiet --set"), "{}", e.stderr);
    let set: Value = serde_json::from_str(
        &env.run(&["budget", "quiet", "--set", "0.5", "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(set["budget_usd"], 0.5);
    let shown = env.run(&["budget", "quiet"]).ok().stdout;
    assert!(shown.contains("budget $0.50"), "{shown}");
    let both = env.run(&["budget", "quiet", "--set", "1", "--add", "1"]);
    assert_eq!(both.code, 2);
    assert_ne!(env.run(&["budget", "../etc", "--set", "1"]).code, 0);
}
