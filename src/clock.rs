//! The wall clock, and how times are written. A leaf: it imports nothing
//! of clauderon.

/// Seconds since the epoch as RFC 3339 UTC (`2026-12-01T12:00:00Z`).
/// (time's own formatter needs a feature that adds a package to the lock.)
pub fn rfc3339(secs: u64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs as i64) else {
        return format!("@{secs}");
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// "3s", "5m", "2h", "4d": how long ago, for tables.
pub fn age(since: u64, now: u64) -> String {
    let s = now.saturating_sub(since);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
