//! `POST /run/async` and `/jobs`: a run in the background. Its job is
//! `running` until the run ends (`completed`, `crashed`, `error`), or is
//! `cancelled` by `DELETE /jobs/{id}`, which really stops the session's
//! container. A finished job never changes state again. Jobs are kept on
//! disk (`job_store`), so a restarted daemon still answers for them; one
//! that was running when the daemon stopped has ended in error. Their
//! sessions stay like any session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::job_store::{self, Record};
use super::{Api, child, error, run, webhook};
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
                let stopped = child::run(&home, &args, &[]).await;
                if stopped.code == Some(0) || !home.session_dir(&session).exists() {
                    return; // stopped, or never made, or rolled back
                }
                let (_, why) = stopped.failure();
                let why = why["error"].as_str().unwrap_or_default().to_string();
                if !why.contains("no session named") && !why.contains("is changing session") {
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

fn view(record: &Record) -> Value {
    serde_json::to_value(record).unwrap_or_default()
}

/// Starts the run and answers 202 at once; the permit goes with the run.
pub async fn start(api: Arc<Api>, body: &[u8]) -> Response<Body> {
    let Ok(permit) = Arc::clone(&api.runs).try_acquire_owned() else {
        return run::busy();
    };
    let validated = match run::prepare(body) {
        Ok(v) => v,
        Err(refused) => return *refused,
    };
    let callback = match validated
        .webhook_url
        .as_deref()
        .map(|u| webhook::check(u, &api.webhooks))
    {
        Some(Err(why)) => return error(StatusCode::BAD_REQUEST, why),
        Some(Ok(uri)) => Some(uri),
        None => None,
    };
    let (id, name) = (crate::session::new_uuid(), validated.name.clone());
    let record = Record {
        id: id.clone(),
        status: "running".into(),
        session: name.clone(),
        created_at: crate::session::now(),
        result: None,
        webhook: None,
    };
    job_store::save(&api.home, &record);
    let job = Job {
        record,
        cancelled: Default::default(),
    };
    let cancelled = Arc::clone(&job.cancelled);
    api.jobs.lock().insert(id.clone(), job);
    let (job_id, session) = (id.clone(), name.clone());
    tokio::spawn(async move {
        let _permit = permit;
        let (_, answer) = run::execute(&api.home, &validated, &cancelled).await;
        // A cancelled job stays cancelled.
        let ended = api.jobs.update(&api.home, &job_id, |job| {
            if job.status == "running" {
                job.status = answer["status"].as_str().unwrap_or("error").to_string();
                job.result = Some(answer);
            }
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

pub fn list(api: &Api) -> Response<Body> {
    let jobs = api.jobs.lock();
    let mut all: Vec<&Record> = jobs.values().map(|j| &j.record).collect();
    all.sort_by_key(|r| (r.created_at, r.id.clone()));
    let views: Vec<Value> = all.into_iter().map(view).collect();
    crate::serve::json(StatusCode::OK, &Value::Array(views))
}

pub fn get(api: &Api, id: &str) -> Response<Body> {
    match api.jobs.lock().get(id) {
        Some(job) => crate::serve::json(StatusCode::OK, &view(&job.record)),
        None => error(StatusCode::NOT_FOUND, format!("no job {id:?}")),
    }
}

/// Cancels a running job: marked first (so its run cannot overwrite it),
/// then its session is stopped, which ends the agent.
pub async fn cancel(api: &Api, id: &str) -> Response<Body> {
    let session = {
        let mut jobs = api.jobs.lock();
        let Some(job) = jobs.get_mut(id) else {
            return error(StatusCode::NOT_FOUND, format!("no job {id:?}"));
        };
        if job.record.status != "running" {
            return error(
                StatusCode::CONFLICT,
                format!("job {id} has already ended ({})", job.record.status),
            );
        }
        job.record.status = "cancelled".into();
        job.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        job_store::save(&api.home, &job.record);
        job.record.session.clone()
    };
    let stopped = child::run(
        &api.home,
        &["stop".into(), "--".into(), session.clone()],
        &[],
    )
    .await;
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
            (None, status) => Some(json!({"status": status, "output": ""})),
        }
    }
}
