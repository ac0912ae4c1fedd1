//! The receive-pack command reader, by example and against random and
//! hostile input: it never panics, never asks for more than its bound, and
//! accepts only well-formed updates.

use super::*;

use crate::proxy::fuzz_json::Rng;

const OLD: &str = "0000000000000000000000000000000000000000";
const NEW: &str = "1111111111111111111111111111111111111111";

fn update(name: &str, caps: Option<&str>) -> Vec<u8> {
    let line = match caps {
        Some(c) => format!("{OLD} {NEW} {name}\0{c}\n"),
        None => format!("{OLD} {NEW} {name}\n"),
    };
    pkt(line.as_bytes())
}

#[test]
fn commands_are_read_up_to_the_flush() {
    let mut body = update(
        "refs/heads/s",
        Some("report-status side-band-64k agent=git/2"),
    );
    body.extend(update("refs/heads/s/x", None));
    body.extend_from_slice(b"0000PACK\x00\x00\x00\x02");
    let Parsed::Done(c) = parse_commands(&body) else {
        panic!("not parsed");
    };
    let names: Vec<&str> = c.updates.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["refs/heads/s", "refs/heads/s/x"]);
    assert!(c.has("report-status") && c.has("side-band-64k"));
    // Any prefix shorter than the flush asks for more.
    let flush_end = body.len() - 8;
    for cut in 0..flush_end {
        assert_eq!(parse_commands(&body[..cut]), Parsed::NeedMore, "cut {cut}");
    }
}

#[test]
fn malformed_commands_are_refused() {
    let shallow = pkt(format!("shallow {NEW}\n").as_bytes());
    let mut ok = shallow.clone();
    ok.extend(update("refs/heads/s", Some("report-status")));
    ok.extend_from_slice(b"0000");
    assert!(matches!(parse_commands(&ok), Parsed::Done(_)));
    let cases: Vec<Vec<u8>> = vec![
        b"zzzz".to_vec(),
        b"0003".to_vec(),
        b"0001".to_vec(),
        b"-004".to_vec(),
        pkt(b"push-cert\0report-status\n"),
        pkt(format!("{OLD} {NEW}\n").as_bytes()),
        pkt(format!("{OLD} {NEW} refs/heads/s extra\n").as_bytes()),
        pkt(format!("{OLD} {} refs/heads/s\n", &NEW[..39]).as_bytes()),
        pkt(format!("{OLD} {} refs/heads/s\n", "A".repeat(40)).as_bytes()),
        update("HEAD", None),
        update("refs/heads/../main", None),
        update("refs/heads/s.lock", None),
        update("refs/heads//s", None),
        update("refs/heads/s\u{1}", None),
        [
            update("refs/heads/a", None),
            update("refs/heads/b", Some("x")),
        ]
        .concat(),
        [update("refs/heads/a", None), shallow].concat(),
        pkt(b"\xff\xfe"),
    ];
    for case in cases {
        assert!(
            matches!(parse_commands(&case), Parsed::Refused(_)),
            "{:?} was not refused",
            String::from_utf8_lossy(&case)
        );
    }
}

#[test]
fn the_reader_is_bounded() {
    let mut body = Vec::new();
    while body.len() <= MAX_COMMANDS_BYTES {
        body.extend(update(&format!("refs/heads/s/{}", body.len()), None));
    }
    assert!(matches!(parse_commands(&body), Parsed::Refused(_)));
    // A header that announces a long line past the bound is refused at once.
    let mut long = update("refs/heads/s", None);
    long.extend_from_slice(b"ffff");
    long.resize(MAX_COMMANDS_BYTES - 10, b'a');
    assert!(matches!(parse_commands(&long), Parsed::Refused(_)));
}

#[test]
fn only_the_session_branch_and_refs_under_it() {
    assert!(is_session_ref("s", "refs/heads/s"));
    assert!(is_session_ref("s", "refs/heads/s/wip"));
    for other in [
        "refs/heads/main",
        "refs/heads/s2",
        "refs/heads/sx/y",
        "refs/tags/s",
        "refs/heads",
    ] {
        assert!(!is_session_ref("s", other), "{other}");
    }
}

#[test]
fn random_bytes_never_panic_and_accept_only_wellformed_updates() {
    let seed = Rng::seed();
    let mut rng = Rng::new(seed);
    const PIECES: &[&str] = &[
        "0000",
        "0004",
        "0005",
        "ffff",
        "fff0",
        "0032",
        "003f",
        "0041",
        "zz",
        OLD,
        NEW,
        " ",
        "refs/heads/s",
        "refs/heads/main",
        "\0",
        "\n",
        "report-status",
        "shallow ",
        "push-cert",
        "..",
        "PACK",
        "\u{7f}",
    ];
    for _ in 0..20_000 {
        let mut body = Vec::new();
        for _ in 0..rng.below(10) {
            if rng.below(4) == 0 {
                body.extend(pkt(rng.pick(PIECES).as_bytes()));
            } else {
                body.extend_from_slice(rng.pick(PIECES).as_bytes());
            }
        }
        if let Parsed::Done(c) = parse_commands(&body) {
            for u in &c.updates {
                assert!(
                    is_oid(&u.old) && is_oid(&u.new) && is_ref_name(&u.name),
                    "seed {seed}: {:?}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
    }
}

#[test]
fn a_refusal_is_a_report_git_understands() {
    let mut body = update("refs/heads/main", Some("report-status side-band-64k"));
    body.extend_from_slice(b"0000");
    let Parsed::Done(c) = parse_commands(&body) else {
        panic!()
    };
    let report = refusal_report(&c, "only refs/heads/s");
    let text = String::from_utf8_lossy(&report);
    assert!(
        text.starts_with("0028\u{2}clauderon proxy: only refs/heads/s\n"),
        "{text}"
    );
    assert!(text.contains("\u{1}000eunpack ok\n"), "{text}");
    assert!(
        text.contains("ng refs/heads/main only refs/heads/s\n"),
        "{text}"
    );
    assert!(text.ends_with("00000000"), "{text}");
    let plain = Commands {
        capabilities: vec!["report-status".into()],
        ..c
    };
    let report = String::from_utf8(refusal_report(&plain, "no")).unwrap();
    assert_eq!(report, "000eunpack ok\n001ang refs/heads/main no\n0000");
}
