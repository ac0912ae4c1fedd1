//! The ref-update commands at the start of a `git-receive-pack` request:
//! pkt-lines (`XXXX` hex length, then the payload) up to a flush (`0000`),
//! before the pack. Read from a bounded prefix of the body; anything that
//! is not exactly that shape is refused, never passed on.

/// Ref updates never take more than this (about 500 updates of long ref
/// names); a push with more is refused.
pub const MAX_COMMANDS_BYTES: usize = 64 * 1024;

/// One `old new ref` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commands {
    pub updates: Vec<RefUpdate>,
    /// The capabilities after the NUL of the first command.
    pub capabilities: Vec<String>,
}

impl Commands {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The prefix ends before the flush: read more of the body.
    NeedMore,
    Done(Commands),
    Refused(String),
}

/// Parses the commands from the start of `buf` (the body read so far).
pub fn parse_commands(buf: &[u8]) -> Parsed {
    let mut commands = Commands::default();
    let mut at = 0;
    loop {
        let Some(head) = buf.get(at..at + 4) else {
            return more_or_too_long(buf.len());
        };
        let Some(len) = std::str::from_utf8(head)
            .ok()
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| usize::from_str_radix(h, 16).ok())
        else {
            return Parsed::Refused("a pkt-line length is not 4 hex digits".into());
        };
        if len == 0 {
            return Parsed::Done(commands);
        }
        if len < 5 {
            return Parsed::Refused(format!("pkt-line length {len} is not allowed here"));
        }
        let Some(payload) = buf.get(at + 4..at + len) else {
            return more_or_too_long(at + len);
        };
        if let Err(why) = command(payload, &mut commands) {
            return Parsed::Refused(why);
        }
        at += len;
    }
}

fn more_or_too_long(needed: usize) -> Parsed {
    if needed > MAX_COMMANDS_BYTES {
        Parsed::Refused(format!(
            "the ref updates take more than {MAX_COMMANDS_BYTES} bytes"
        ))
    } else {
        Parsed::NeedMore
    }
}

/// One payload: `shallow <oid>`, or `old new ref` (the first with
/// `\0capabilities`). Signed pushes (`push-cert`) are refused.
fn command(payload: &[u8], commands: &mut Commands) -> Result<(), String> {
    let text = std::str::from_utf8(payload).map_err(|_| "a ref update is not UTF-8")?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let (line, caps) = match text.split_once('\0') {
        Some((line, caps)) => (line, Some(caps)),
        None => (text, None),
    };
    if let Some(oid) = line.strip_prefix("shallow ") {
        return if commands.updates.is_empty() && caps.is_none() && is_oid(oid) {
            Ok(())
        } else {
            Err("a shallow line is malformed or out of place".into())
        };
    }
    if line.starts_with("push-cert") {
        return Err("signed pushes (push-cert) cannot be checked by the proxy".into());
    }
    let mut parts = line.split(' ');
    let (Some(old), Some(new), Some(name), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("a ref update is not `old new ref`".into());
    };
    if !is_oid(old) || !is_oid(new) || old.len() != new.len() || !is_ref_name(name) {
        return Err("a ref update names a malformed object id or ref".into());
    }
    match (caps, commands.updates.is_empty()) {
        (Some(caps), true) => {
            commands.capabilities = caps.split(' ').map(str::to_string).collect();
        }
        (Some(_), false) => return Err("capabilities after the first ref update".into()),
        (None, _) => {}
    }
    commands.updates.push(RefUpdate {
        old: old.into(),
        new: new.into(),
        name: name.into(),
    });
    Ok(())
}

/// A SHA-1 or SHA-256 object id in lower-case hex.
fn is_oid(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64)
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A full ref name as `git check-ref-format` would take it, only stricter.
fn is_ref_name(name: &str) -> bool {
    name.starts_with("refs/")
        && name.len() <= 1024
        && !name.contains("..")
        && !name.contains("@{")
        && !name.ends_with(".lock")
        && name
            .split('/')
            .all(|c| !c.is_empty() && !c.starts_with('.'))
        && name
            .chars()
            .all(|c| !c.is_control() && !" ~^:?*[\\".contains(c))
}

/// Is `name` the session's branch or a ref under it?
pub fn is_session_ref(branch: &str, name: &str) -> bool {
    let own = format!("refs/heads/{branch}");
    name == own || name.strip_prefix(&own).is_some_and(|r| r.starts_with('/'))
}

/// A pkt-line holding `payload`.
pub fn pkt(payload: &[u8]) -> Vec<u8> {
    let mut out = format!("{:04x}", payload.len() + 4).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// receive-pack's answer refusing every update with `reason`, in the form
/// the client asked for (report-status, over side-band if it asked), so
/// git prints `! [remote rejected] ... (reason)` and `remote: reason`.
pub fn refusal_report(commands: &Commands, reason: &str) -> Vec<u8> {
    let mut report = pkt(b"unpack ok\n");
    for u in &commands.updates {
        let line = format!("ng {} {}\n", u.name, reason.replace('\n', " "));
        report.extend(pkt(line.as_bytes()));
    }
    report.extend_from_slice(b"0000");
    if !commands.has("side-band-64k") && !commands.has("side-band") {
        return report;
    }
    let max = if commands.has("side-band-64k") {
        65515
    } else {
        995
    };
    let mut out = pkt(format!("\u{2}clauderon proxy: {reason}\n").as_bytes());
    for chunk in report.chunks(max) {
        let mut band = vec![1u8];
        band.extend_from_slice(chunk);
        out.extend(pkt(&band));
    }
    out.extend_from_slice(b"0000");
    out
}

#[cfg(test)]
#[path = "pktline_tests.rs"]
mod tests;
