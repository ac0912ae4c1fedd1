//! Jobs on disk, so they outlive the daemon: one JSON file per job,
//! `$CLAUDERON_HOME/jobs/<id>.json` (the directory 0700, files 0600, written
//! atomically). A record holds the job's state, session, times, the run's
//! answer and the webhook's outcome; never the prompt (the session's own
//! record keeps it), the webhook secret or any `env` value.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::Home;

/// A job as it is stored (and, with its id, as `GET /jobs/{id}` shows it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub status: String,
    pub session: String,
    pub created_at: u64,
    /// When it last changed (older records have none: `created_at`).
    #[serde(default)]
    pub updated_at: Option<u64>,
    /// The run's answer, once it has ended.
    pub result: Option<Value>,
    /// The callback's outcome (see `webhook::deliver`).
    pub webhook: Option<Value>,
}

fn dir(home: &Home) -> PathBuf {
    home.root.join("jobs")
}

/// Only ids the daemon made (UUIDs) name files.
fn is_job_id(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Writes the record; a failure is logged (the job goes on in memory).
pub fn save(home: &Home, record: &Record) {
    use std::os::unix::fs::DirBuilderExt;
    if !is_job_id(&record.id) {
        return;
    }
    let dir = dir(home);
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    let json = serde_json::to_vec(record).unwrap_or_default();
    let written = made.map_err(|e| e.to_string()).and_then(|()| {
        let path = dir.join(format!("{}.json", record.id));
        crate::plan::write_atomic(&path, &json, 0o600).map_err(|e| e.message)
    });
    if let Err(why) = written {
        eprintln!("clauderon daemon: job {} is not saved: {why}", record.id);
    }
}

/// How long an ended job is kept: a daemon started later forgets it.
const KEEP_ENDED_SECS: u64 = 30 * 24 * 3600;

/// An ended job older than `KEEP_ENDED_SECS`: its file is removed.
fn expired(record: &Record, path: &std::path::Path) -> bool {
    let age = crate::session::now().saturating_sub(record.created_at);
    let old = record.status != "running" && age > KEEP_ENDED_SECS;
    if old {
        let _ = std::fs::remove_file(path);
    }
    old
}

/// Every stored job; unreadable or foreign files are skipped (and named),
/// and ended jobs older than 30 days removed.
pub fn load(home: &Home) -> Vec<Record> {
    let Ok(entries) = std::fs::read_dir(dir(home)) else {
        return Vec::new();
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".json").filter(|id| is_job_id(id)) else {
            continue;
        };
        let parsed = entry
            .file_type()
            .ok()
            .filter(|t| t.is_file())
            .and_then(|_| std::fs::read(entry.path()).ok())
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
            .filter(|r| r.id == id);
        match parsed {
            Some(record) if expired(&record, &entry.path()) => {}
            Some(record) => records.push(record),
            None => eprintln!(
                "clauderon daemon: skipping {}: not a job record",
                entry.path().display()
            ),
        }
    }
    records
}

/// A job that was running when the daemon stopped: it has ended in error,
/// and says why. (Its session is stopped by the caller.)
pub fn interrupted(record: &mut Record) {
    let why = "the daemon stopped while the job was running (the daemon restarted); its session is stopped (one still being made is stopped once it exists, and its create then rolls it back)";
    record.status = "error".into();
    record.updated_at = Some(crate::session::now());
    record.result = Some(serde_json::json!({
        "status": "failed",
        "clauderon_status": "error",
        "error": why,
        "output": "",
        "crash_info": {"reason": why},
        "session": record.session,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_privately_and_foreign_files_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        let home = Home {
            root: root.path().to_path_buf(),
        };
        let record = Record {
            id: crate::session::new_uuid(),
            status: "running".into(),
            session: "run-abc".into(),
            created_at: 1,
            updated_at: None,
            result: None,
            webhook: None,
        };
        save(&home, &record);
        std::fs::write(dir(&home).join("notes.json"), "{}").unwrap();
        std::fs::write(dir(&home).join(format!("{}.json", "0".repeat(36))), "{").unwrap();
        let loaded = load(&home);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].session, "run-abc");
        use std::os::unix::fs::PermissionsExt;
        let file = dir(&home).join(format!("{}.json", record.id));
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir(&home)), 0o700);
        // A made-up id never names a path.
        let mut odd = record.clone();
        odd.id = "../../escape".into();
        save(&home, &odd);
        assert!(!root.path().join("escape.json").exists());
    }

    #[test]
    fn ended_jobs_older_than_30_days_are_forgotten_and_running_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let home = Home {
            root: root.path().to_path_buf(),
        };
        let now = crate::session::now();
        let job = |status: &str, age: u64| Record {
            id: crate::session::new_uuid(),
            status: status.into(),
            session: format!("{status}-{age}"),
            created_at: now - age,
            updated_at: None,
            result: None,
            webhook: None,
        };
        let (old_done, new_done, old_running) = (
            job("completed", 31 * 24 * 3600),
            job("completed", 3600),
            job("running", 31 * 24 * 3600),
        );
        for r in [&old_done, &new_done, &old_running] {
            save(&home, r);
        }
        let mut kept: Vec<String> = load(&home).into_iter().map(|r| r.session).collect();
        kept.sort();
        assert_eq!(kept, [new_done.session, old_running.session]);
        assert!(!dir(&home).join(format!("{}.json", old_done.id)).exists());
    }
}
