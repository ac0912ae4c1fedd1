//! Random request bodies for the API's property tests, from a small seeded
//! PRNG (so a failure is replayed with `FUZZ_SEED=<seed>`): JSON of random
//! shapes, objects whose keys are mostly the real fields with values of any
//! type, hostile strings and numbers, deep nesting, and raw bytes. Shared
//! by the parser's unit test (src/api/fuzz.rs) and the over-HTTP test.
#![allow(dead_code)]

/// SplitMix64: tiny, deterministic, good enough to pick shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// `FUZZ_SEED` if set, else one from the clock (printed by the caller).
    pub fn seed() -> u64 {
        std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Every field name the request bodies know, at any level.
pub const FIELDS: &[&str] = &[
    "prompt",
    "repo",
    "workdir",
    "agent",
    "claude",
    "podman",
    "docker",
    "webhook_url",
    "model",
    "max_turns",
    "allowed_tools",
    "disallowed_tools",
    "append_system_prompt",
    "output_format",
    "image",
    "memory",
    "cpus",
    "lifecycle",
    "environment",
    "timeout",
    "volumes",
    "env",
    "on_create_command",
    "post_start",
    "type",
    "path",
    "service",
    "name",
    "backend",
    "pull_policy",
    "cpu_limit",
    "memory_limit",
    "base",
    "network",
    "on_create",
    "cap_add",
];

/// Fields whose value is an object of further fields.
const NESTED: &[&str] = &[
    "claude",
    "podman",
    "docker",
    "lifecycle",
    "environment",
    "env",
];

const STRINGS: &[&str] = &[
    "",
    "x",
    "fix the bug",
    "-",
    "--privileged",
    "-v=/:/host",
    "$(id)",
    "`id`",
    "a b",
    "it's \\\"quoted\\\"",
    "line\\nbreak",
    "nul\\u0000byte",
    "\\ud800",
    "ünïcødé 😀",
    "/workspace",
    "/etc:/etc",
    "/tmp:/workspace",
    "/tmp/x:/workspace:rw",
    "relative/dir",
    "/nonexistent/repo",
    "docker",
    "podman",
    "kubernetes",
    "claude",
    "codex",
    "compose",
    "../x.yml",
    "c.yml",
    "30s",
    "2h",
    "0",
    "99999999999999999999999h",
    "1e9s",
    "-5m",
    "sonnet",
    "json",
    "text",
    "Bash(git:*)",
    "a,b",
    "never",
    "always",
    "512m",
    "1.5",
    "clauderon-test-base:1",
    "evil.io/x:1",
    "ghcr.io/org/img@sha256:abc",
    "A=B",
    "PATH",
    "LD_PRELOAD",
    "http://127.0.0.1/x",
    "file:///etc/passwd",
    "proxy",
    "open",
    "ALL",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "123456789012345678901234567890",
    "1e308",
    "1e999999",
    "-1e999999",
    "0.5",
    "1E2",
    "3.14159",
    "-9223372036854775809",
];

/// A random JSON value, `depth` levels deep at most.
pub fn value(rng: &mut Rng, depth: usize) -> String {
    let kinds = if depth == 0 { 5 } else { 8 };
    match rng.below(kinds) {
        0 => "null".into(),
        1 => rng.pick(&["true", "false"]).into(),
        2 => rng.pick(NUMBERS).into(),
        3 | 4 => string(rng),
        5 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| value(rng, depth - 1)).collect();
            format!("[{}]", items.join(","))
        }
        _ => object(rng, depth - 1, &[]),
    }
}

fn string(rng: &mut Rng) -> String {
    match rng.below(20) {
        0 => format!("\"{}\"", "y".repeat(70_000)),
        1 => format!(
            "\"{}\"",
            char::from_u32(rng.below(0x30000) as u32)
                .map_or(String::new(), |c| c.to_string())
                .replace(['"', '\\'], "")
        ),
        _ => format!("\"{}\"", rng.pick(STRINGS)),
    }
}

/// An object of mostly real fields (values of any type, nested fields as
/// objects most of the time), some unknown ones, `extra` raw pairs first.
pub fn object(rng: &mut Rng, depth: usize, extra: &[&str]) -> String {
    let mut pairs: Vec<String> = extra.iter().map(|p| p.to_string()).collect();
    for _ in 0..rng.below(6) {
        let key = match rng.below(10) {
            0 => format!("\"{}\"", rng.pick(STRINGS)),
            _ => format!("\"{}\"", rng.pick(FIELDS)),
        };
        let nested = NESTED.iter().any(|n| key == format!("\"{n}\""));
        let v = if nested && depth > 0 && rng.below(4) != 0 {
            object(rng, depth - 1, &[])
        } else if rng.below(5) == 0 {
            let n = rng.below(3);
            let items: Vec<String> = (0..n).map(|_| string(rng)).collect();
            format!("[{}]", items.join(","))
        } else {
            value(rng, depth)
        };
        pairs.push(format!("{key}:{v}"));
    }
    // A prompt, most of the time, so validation gets past its first check.
    if rng.below(3) != 0 {
        pairs.push(format!("\"prompt\":{}", string(rng)));
    }
    format!("{{{}}}", pairs.join(","))
}

/// One request body: mostly objects, some other JSON, deep nesting, bytes.
/// Every body that parses as an object has the `extra` pairs.
pub fn body(rng: &mut Rng, extra: &[&str]) -> Vec<u8> {
    match rng.below(12) {
        // Any JSON value, unless `extra` must be in every object.
        0 if extra.is_empty() => value(rng, 3).into_bytes(),
        1 => {
            let n = 1 + rng.below(5000);
            format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()
        }
        2 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
        3 => {
            let mut text = object(rng, 3, extra).into_bytes();
            let cut = rng.below(text.len());
            text.truncate(cut);
            text
        }
        _ => object(rng, 3, extra).into_bytes(),
    }
}
