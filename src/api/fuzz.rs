//! Property test of the request parser: random bodies (see
//! tests/support/fuzz_json.rs) given to every parsing function of a body
//! never panic; each is refused with a 400 and a JSON reason, or becomes a
//! command line in which every value of the request is inside a
//! `--flag=value` argument or after `--`, never an argument of its own.

#[path = "../../tests/support/fuzz_json.rs"]
mod fuzz_json;

use http::{Response, StatusCode};
use http_body_util::BodyExt;

use crate::serve::Body;
use fuzz_json::Rng;

/// The flags a request may set, by the command they go to.
const RUN_FLAGS: &[&str] = &[
    "prompt",
    "prompt-file",
    "backend",
    "agent",
    "image",
    "memory-limit",
    "cpu-limit",
    "model",
    "max-turns",
    "append-system-prompt",
    "output-format",
    "on-create",
    "post-start",
    "allowed-tools",
    "disallowed-tools",
    "env",
    "cpu-shares",
    "agent-arg",
    "service",
    "name",
    "repo",
    "compose",
];
const CREATE_FLAGS: &[&str] = &[
    "repo",
    "prompt",
    "prompt-file",
    "name",
    "backend",
    "agent",
    "image",
    "pull-policy",
    "cpu-limit",
    "memory-limit",
    "base",
    "network",
    "on-create",
    "post-start",
    "cap-add",
    "env",
];

/// Every argument past the command's words is a bare flag of `bare` or
/// `--NAME=VALUE` with NAME in `named`.
fn only_flags(args: &[String], words: usize, bare: &[&str], named: &[&str]) -> Result<(), String> {
    for a in &args[words..] {
        let name = a
            .strip_prefix("--")
            .and_then(|f| f.split_once('=').map(|(n, _)| n));
        let ok = bare.contains(&a.as_str()) || name.is_some_and(|n| named.contains(&n));
        if !ok {
            return Err(format!("argument {a:?} in {args:?}"));
        }
    }
    Ok(())
}

/// A refusal is a 400 whose body is `{"error": "<a reason>"}`.
async fn refused_well(resp: Response<Body>) -> Result<(), String> {
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let body: serde_json::Value = serde_json::from_slice(&bytes.to_bytes())
        .map_err(|e| format!("{status}: the body is not JSON: {e}"))?;
    let reason = body["error"].as_str().unwrap_or_default();
    match (status, reason.is_empty()) {
        (StatusCode::BAD_REQUEST, false) => Ok(()),
        _ => Err(format!("{status} {body}")),
    }
}

async fn check(body: Vec<u8>, dry_run: bool) -> Result<(), String> {
    let body = body.as_slice();
    match super::run::parse(body, &[]) {
        Ok(run) => {
            let args = run.create_args("run-fuzz", "/tmp/repo");
            only_flags(&args, 1, &["--json", "--print"], RUN_FLAGS)?;
        }
        Err(e) => refused_well(super::run::refused(&e))
            .await
            .map_err(|e| format!("/run: {e}"))?,
    }
    match super::routes::create_command(body, dry_run) {
        Ok((args, env, _)) => {
            only_flags(&args, 1, &["--json", "--dry-run"], CREATE_FLAGS)?;
            if let Some((k, _)) = env.iter().find(|(k, _)| !crate::validate::env_name(k)) {
                return Err(format!("env name {k:?} passed"));
            }
        }
        Err(resp) => refused_well(*resp)
            .await
            .map_err(|e| format!("/v1/sessions: {e}"))?,
    }
    match super::routes::pull_command(body, dry_run) {
        Ok((args, image, _)) => {
            let n = args.len();
            if args[n - 2..] != ["--".to_string(), image] {
                return Err(format!("the image is not after --: {args:?}"));
            }
            only_flags(&args[..n - 2], 2, &["--json", "--dry-run"], &["backend"])?;
        }
        Err(resp) => refused_well(*resp)
            .await
            .map_err(|e| format!("/images/pull: {e}"))?,
    }
    Ok(())
}

#[tokio::test]
async fn random_bodies_are_refused_with_a_reason_or_become_safe_command_lines() {
    let seed = Rng::seed();
    let mut rng = Rng::new(seed);
    let (mut parsed, cases) = (0, 10_000);
    for case in 0..cases {
        let body = fuzz_json::body(&mut rng, &[]);
        let dry_run = rng.below(2) == 0;
        parsed += usize::from(super::run::parse(&body, &[]).is_ok());
        // A task of its own, so a panic is reported with the seed.
        let outcome = match tokio::spawn(check(body.clone(), dry_run)).await {
            Ok(result) => result,
            Err(e) => Err(format!("panicked: {e}")),
        };
        if let Err(why) = outcome {
            let shown = String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned();
            panic!("FUZZ_SEED={seed} case {case}: {why}\nbody: {shown}");
        }
    }
    // The generator must reach past the parser, or the test proves little.
    assert!(
        parsed > cases / 50,
        "FUZZ_SEED={seed}: only {parsed} valid /run bodies"
    );
}

#[test]
fn random_paths_and_queries_decode_or_are_refused_without_a_panic() {
    let seed = Rng::seed();
    let mut rng = Rng::new(seed);
    let pieces = [
        "%", "%2", "%2F", "%2f", "%+f", "%zz", "%C3%A9", "%C3", "%00", "/", "//", "a", "..", "&",
        "=", "?", "é",
    ];
    for case in 0..5000 {
        let text: String = (0..rng.below(12)).map(|_| rng.pick(&pieces)).collect();
        let decoded = super::routes::percent_decode(&text);
        if let Some(d) = &decoded {
            // Exactly the bytes the escapes stand for, and valid UTF-8.
            let plain = !text.contains('%');
            assert!(
                !plain || *d == text,
                "FUZZ_SEED={seed} case {case}: {text:?} -> {d:?}"
            );
        }
        if text.contains("%+f") || text.contains("%zz") {
            assert!(decoded.is_none(), "FUZZ_SEED={seed} case {case}: {text:?}");
        }
        let _ = super::routes::segments(&text);
    }
}
