//! `POST /run/async` and `/jobs`: a run in the background. Its job is
//! `running` until the run ends (`completed`, `crashed`, `error`), or is
//! `cancelled` by `DELETE /jobs/{id}`, which really stops the session's
//! container. A finished job never changes state again. Jobs live as long
//! as the daemon; their sessions stay like any session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{Api, child, error, run, webhook};
use crate::serve::Body;

#[derive(Clone)]
pub struct Job {
    status: String,
    session: String,
    created_at: u64,
    /// The run's answer, once it has ended.
    result: Option<Value>,
    /// Set by a cancel, read by the run once its session exists.
    cancelled: Arc<std::sync::atomic::AtomicBool>,
    /// The callback's outcome: the answer's status, or why there was none.
    webhook: Option<Value>,
}

#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, Job>>);

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
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
    if let Some(job) = api.jobs.lock().get_mut(id) {
        job.webhook = Some(outcome);
    }
}

fn view(id: &str, job: &Job) -> Value {
    json!({
        "id": id, "status": job.status, "session": job.session,
        "created_at": job.created_at, "result": job.result, "webhook": job.webhook,
    })
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
    let (id, name) = (crate::session::new_uuid(), run::run_name());
    let job = Job {
        status: "running".into(),
        session: name.clone(),
        created_at: crate::session::now(),
        result: None,
        cancelled: Default::default(),
        webhook: None,
    };
    let cancelled = Arc::clone(&job.cancelled);
    api.jobs.lock().insert(id.clone(), job);
    let (job_id, session) = (id.clone(), name.clone());
    tokio::spawn(async move {
        let _permit = permit;
        let (_, answer) = run::execute(&api.home, &validated, &name, &cancelled).await;
        let ended = {
            let mut jobs = api.jobs.lock();
            let job = jobs.get_mut(&job_id);
            if let Some(job) = job.filter(|j| j.status == "running") {
                job.status = answer["status"].as_str().unwrap_or("error").to_string();
                job.result = Some(answer);
            }
            jobs.get(&job_id).map(|j| view(&job_id, j))
        };
        if let (Some(uri), Some(ended)) = (callback, ended) {
            call_back(&api, &job_id, uri, ended).await;
        }
    });
    crate::serve::json(
        StatusCode::ACCEPTED,
        &json!({"job_id": id, "session": session}),
    )
}

pub fn list(api: &Api) -> Response<Body> {
    let jobs = api.jobs.lock();
    let mut all: Vec<(&String, &Job)> = jobs.iter().collect();
    all.sort_by_key(|(id, j)| (j.created_at, id.to_string()));
    let views: Vec<Value> = all.into_iter().map(|(id, j)| view(id, j)).collect();
    crate::serve::json(StatusCode::OK, &Value::Array(views))
}

pub fn get(api: &Api, id: &str) -> Response<Body> {
    match api.jobs.lock().get(id) {
        Some(job) => crate::serve::json(StatusCode::OK, &view(id, job)),
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
        if job.status != "running" {
            return error(
                StatusCode::CONFLICT,
                format!("job {id} has already ended ({})", job.status),
            );
        }
        job.status = "cancelled".into();
        job.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        job.session.clone()
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
        self.jobs.lock().get(id).map(|j| j.session.clone())
    }

    /// The answer of a job that has ended (a cancelled one: its status).
    pub(super) fn job_result(&self, id: &str) -> Option<Value> {
        let jobs = self.jobs.lock();
        let job = jobs.get(id)?;
        match (&job.result, job.status.as_str()) {
            (Some(r), _) => Some(r.clone()),
            (None, "running") => None,
            (None, status) => Some(json!({"status": status, "output": ""})),
        }
    }
}
