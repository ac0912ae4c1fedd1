//! `POST /run/async` and `/jobs`: a run in the background. Its job is
//! `running` until the run ends (`completed`, `crashed`, `timed_out`,
//! `error`), or is `cancelled` by `DELETE /jobs/{id}`, which really stops
//! the session's container. A finished job never changes state again. The
//! routes show Stromboli's words (`completed`, `failed`, `cancelled`: each
//! final for its client's `waitForJob`), clauderon's in `clauderon_status`. Jobs are kept on
//! disk (`job_store`), so a restarted daemon still answers for them; one
//! that was running when the daemon stopped has ended in error. Their
//! sessions stay like any session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::job_store::{self, Record};
use super::{Api, run, webhook};
use crate::error::{Error, ErrorKind};
use crate::serve::Body;
use crate::store::Home;

pub struct Job {
    record: Record,
    /// Set by a cancel, read by the run once its session exists.
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, Job>>);

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stored jobs; those that were running are ended in error (and
    /// saved so), and their sessions returned, to be stopped.
    pub fn load(home: &Home) -> (Jobs, Vec<String>) {
        let mut interrupted = Vec::new();
        let mut jobs = HashMap::new();
        for mut record in job_store::load(home) {
            if record.status == "running" {
                job_store::interrupted(&mut record);
                job_store::save(home, &record);
                interrupted.push(record.session.clone());
            }
            let job = Job {
                record,
                cancelled: Default::default(),
            };
            jobs.insert(job.record.id.clone(), job);
        }
        (Jobs(Mutex::new(jobs)), interrupted)
    }

    /// Changes a job and saves it, under the lock (saves never interleave).
    fn update(&self, home: &Home, id: &str, change: impl FnOnce(&mut Record)) -> Option<Record> {
        let mut jobs = self.lock();
        let job = jobs.get_mut(id)?;
        change(&mut job.record);
        job_store::save(home, &job.record);
        Some(job.record.clone())
    }
}

/// Stops the sessions of jobs the last daemon left running, each in a task
/// of its own. A create the last daemon started may still be running (its
/// process outlives the daemon; its session directory exists before its
/// record does): the stop is tried again until that create has made the
/// session or rolled it back (30 min at most, a run's default timeout).
pub fn stop_interrupted(home: Home, sessions: Vec<String>) {
    for session in sessions {
        let home = home.clone();
        tokio::spawn(async move {
            let args = ["stop".to_string(), "--".into(), session.clone()];
            for _ in 0..900 {
                let stopped = super::child::run(&home, &args, &[]).await;
                if stopped.code == Some(0) || !home.session_dir(&session).exists() {
                    return; // stopped, or never made, or rolled back
                }
                let Some(e) = stopped.error() else { return };
                if !matches!(e.kind, ErrorKind::NotFound | ErrorKind::Locked) {
                    let why = &e.message;
                    eprintln!("clauderon daemon: session {session} of an interrupted job: {why}");
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        });
    }
}

/// The job's end, sent to its webhook; the outcome is kept in the job.
async fn call_back(api: &Api, id: &str, uri: http::Uri, ended: Value) {
    let body = serde_json::to_vec(&ended).unwrap_or_default();
    let outcome = webhook::deliver(&uri, body, api.webhooks.secret.as_deref()).await;
    if outcome["delivered"] != true {
        let attempts = &outcome["attempts"];
        eprintln!("clauderon daemon: the webhook of job {id} ({uri}) failed: {attempts}");
    }
    api.jobs
        .update(&api.home, id, |job| job.webhook = Some(outcome));
}

/// Stromboli's word for a job's state: `pending`, `running`, `completed`,
/// `failed` or `cancelled` (clauderon's crash, timeout and error are failures).
fn stromboli_status(status: &str) -> &'static str {
    match status {
        "running" => "running",
        "completed" => "completed",
        "cancelled" => "cancelled",
        _ => "failed",
    }
}

/// A job as Stromboli's `JobResponse` shows it, clauderon's detail beside.
fn view(record: &Record) -> Value {
    let result = record.result.as_ref();
    let field = |k: &str| result.and_then(|r| r.get(k)).cloned();
    let text = |k: &str| field(k).filter(Value::is_string).unwrap_or(json!(""));
    let mut job = json!({
        "id": record.id,
        "status": stromboli_status(&record.status),
        "clauderon_status": record.status,
        "output": text("output"),
        "error": text("error"),
        "session_id": record.session,
        "session": record.session,
        "created_at": crate::session::rfc3339(record.created_at),
        "updated_at": crate::session::rfc3339(record.updated_at.unwrap_or(record.created_at)),
        "result": result,
        "webhook": record.webhook,
    });
    if let Some(info) = field("crash_info").filter(Value::is_object) {
        job["crash_info"] = info;
    }
    job
}

/// Starts the run and answers 202 at once; the permit goes with the run.
/// Bad input is a 400 before a full house is a 429.
pub async fn start(api: Arc<Api>, body: &[u8]) -> Response<Body> {
    let validated = match run::prepare(&api, body) {
        Ok(v) => v,
        Err(e) => return run::refused(&e),
    };
    let callback = match validated
        .webhook_url
        .as_deref()
        .map(|u| webhook::check(u, &api.webhooks))
    {
        Some(Err(e)) => return run::refused(&e),
        Some(Ok(uri)) => Some(uri),
        None => None,
    };
    let Ok(permit) = Arc::clone(&api.runs).try_acquire_owned() else {
        return run::busy();
    };
    let (id, name) = (crate::session::new_uuid(), validated.name.clone());
    let cancelled = register(&api, &id, &name);
    let (job_id, session) = (id.clone(), name.clone());
    tokio::spawn(async move {
        let _permit = permit;
        let answer = match run::execute(&api.home, &validated, &cancelled).await {
            Ok(answer) => answer,
            Err(e) => run::failed_run(&e, &validated.name),
        };
        // A cancelled job stays cancelled.
        let ended = api.jobs.update(&api.home, &job_id, |job| {
            if job.status == "running" {
                job.status = answer["clauderon_status"]
                    .as_str()
                    .unwrap_or("error")
                    .to_string();
                job.result = Some(answer);
            }
            job.updated_at = Some(crate::session::now());
        });
        if let (Some(uri), Some(ended)) = (callback, ended) {
            call_back(&api, &job_id, uri, view(&ended)).await;
        }
    });
    crate::serve::json(
        StatusCode::ACCEPTED,
        &json!({"job_id": id, "session_id": session, "session": session}),
    )
}

/// A new running job, saved (so a restarted daemon knows of it) and
/// listed; its cancel flag.
fn register(api: &Api, id: &str, session: &str) -> Arc<std::sync::atomic::AtomicBool> {
    let record = Record {
        id: id.to_string(),
        status: "running".into(),
        session: session.to_string(),
        created_at: crate::session::now(),
        updated_at: None,
        result: None,
        webhook: None,
    };
    job_store::save(&api.home, &record);
    let job = Job {
        record,
        cancelled: Default::default(),
    };
    let cancelled = Arc::clone(&job.cancelled);
    api.jobs.lock().insert(id.to_string(), job);
    cancelled
}

pub fn list(api: &Api) -> Response<Body> {
    let jobs = api.jobs.lock();
    let mut all: Vec<&Record> = jobs.values().map(|j| &j.record).collect();
    all.sort_by_key(|r| (r.created_at, r.id.clone()));
    let views: Vec<Value> = all.into_iter().map(view).collect();
    crate::serve::json(StatusCode::OK, &json!({"jobs": views}))
}

pub fn get(api: &Api, id: &str) -> Response<Body> {
    match api.jobs.lock().get(id) {
        Some(job) => crate::serve::json(StatusCode::OK, &view(&job.record)),
        None => run::refused(&Error::not_found(format!("no job {id:?}"))),
    }
}

/// Cancels a running job: marked first (so its run cannot overwrite it),
/// then its session is stopped, which ends the agent.
pub async fn cancel(api: &Api, id: &str) -> Response<Body> {
    let session = {
        let mut jobs = api.jobs.lock();
        let Some(job) = jobs.get_mut(id) else {
            return run::refused(&Error::not_found(format!("no job {id:?}")));
        };
        if job.record.status != "running" {
            let status = stromboli_status(&job.record.status);
            let why = format!("job {id} has already ended ({status})");
            let mut body = Error::conflict(why).to_json();
            body["status"] = json!(status);
            return crate::serve::json(StatusCode::CONFLICT, &body);
        }
        job.record.status = "cancelled".into();
        job.record.updated_at = Some(crate::session::now());
        job.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        job_store::save(&api.home, &job.record);
        job.record.session.clone()
    };
    let stopped = run::stop(&api.home, &session).await;
    let note = (stopped.code != Some(0))
        .then_some("the session was still being made: it is stopped as soon as it exists");
    crate::serve::json(
        StatusCode::OK,
        &json!({"id": id, "status": "cancelled", "session": session, "note": note}),
    )
}

impl Api {
    pub(super) fn job_session(&self, id: &str) -> Option<String> {
        self.jobs.lock().get(id).map(|j| j.record.session.clone())
    }

    /// The answer of a job that has ended (a cancelled one: its status).
    pub(super) fn job_result(&self, id: &str) -> Option<Value> {
        let jobs = self.jobs.lock();
        let job = &jobs.get(id)?.record;
        match (&job.result, job.status.as_str()) {
            (Some(r), _) => Some(r.clone()),
            (None, "running") => None,
            (None, status) => Some(
                json!({"status": stromboli_status(status), "clauderon_status": status, "output": ""}),
            ),
        }
    }
}
