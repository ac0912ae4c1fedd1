//! The API's routes: each maps a request to the `clauderon` command line
//! it stands for, and the command's result to an HTTP answer (its status
//! from the error's kind, never its words).

use std::collections::BTreeMap;

use http::{Method, Response, StatusCode, Uri};
use serde::Deserialize;
use serde_json::{Value, json};

use super::child::{self, Finished};
use super::{error, method_not_allowed, refuse};
use crate::error::{Error, ErrorKind};
use crate::serve::Body;
use crate::store::Home;

pub async fn route(home: &Home, method: &Method, uri: &Uri, body: &[u8]) -> Response<Body> {
    let (query, segments) = match parse_target(uri) {
        Ok(parsed) => parsed,
        Err(e) => return refuse(&e),
    };
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["sessions", ..] => super::stromboli::sessions(home, method, &segs[1..], &query).await,
        ["claude", "status"] | ["secrets"] if method != Method::GET => method_not_allowed("GET"),
        ["claude", "status"] => super::health::claude_status(),
        ["secrets"] => super::health::secrets(),
        _ => dispatch(home, method, &segs, &query, body).await,
    }
}

/// The query and the percent-decoded path segments, or why they are not valid.
fn parse_target(uri: &Uri) -> Result<(Query, Vec<String>), Error> {
    let query = Query::parse(uri.query())
        .ok_or_else(|| Error::input("the query string is not valid percent-encoded UTF-8"))?;
    if let Some(why) = query.bad_flag() {
        return Err(Error::input(why));
    }
    let segments = segments(uri.path())
        .ok_or_else(|| Error::input("the path is not valid percent-encoded UTF-8"))?;
    Ok((query, segments))
}

/// The query's pairs, percent-decoded.
pub(super) fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, Error> {
    Query::parse(uri.query())
        .map(|q| q.0)
        .ok_or_else(|| Error::input("the query string is not valid percent-encoded UTF-8"))
}

async fn dispatch(
    home: &Home,
    method: &Method,
    segs: &[&str],
    query: &Query,
    body: &[u8],
) -> Response<Body> {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match (method, segs) {
        (&Method::GET, ["v1", "sessions"]) => json_result(home, args(&["list", "--json"])).await,
        (&Method::POST, ["v1", "sessions"]) => create(home, body, query.flag("dry_run")).await,
        (_, ["v1", "sessions"]) => method_not_allowed("GET, POST"),
        (&Method::GET, ["v1", "sessions", name, "messages"]) => {
            match super::messages::Page::parse(query) {
                Ok(page) => super::messages::transcript(home, name, page),
                Err(e) => refuse(&e),
            }
        }
        (&Method::POST, ["v1", "sessions", name, "messages"]) => {
            super::send::send(home, name, body, query.flag("dry_run")).await
        }
        (&Method::GET, ["v1", "sessions", name]) => {
            json_result(home, args(&["status", "--json", "--", name])).await
        }
        (&Method::DELETE, ["v1", "sessions", name]) => {
            action(
                home,
                delete_args(query),
                name,
                "deleted",
                query.flag("dry_run"),
            )
            .await
        }
        (_, ["v1", "sessions", _]) => method_not_allowed("GET, DELETE"),
        (
            &Method::POST,
            [
                "v1",
                "sessions",
                name,
                verb @ ("stop" | "start" | "refresh"),
            ],
        ) => {
            let done = match *verb {
                "stop" => "stopped",
                "start" => "started",
                _ => "refreshed",
            };
            action(home, args(&[verb]), name, done, query.flag("dry_run")).await
        }
        (_, ["v1", "sessions", name, "policy"]) => {
            super::policy::route(home, method, name, body).await
        }
        (_, ["v1", "sessions", _, "stop" | "start" | "refresh"]) => method_not_allowed("POST"),
        (_, ["v1", "sessions", _, "messages"]) => method_not_allowed("GET, POST"),
        (_, ["images", ..]) => images(home, method, &segs[1..], query, body).await,
        _ => error(ErrorKind::NotFound, "no such route (see /openapi.json)"),
    }
}

/// `delete --force`, with `--delete-branch` when asked.
pub(super) fn delete_args(query: &Query) -> Vec<String> {
    let mut a = vec!["delete".to_string(), "--force".into()];
    if query.flag("delete_branch") {
        a.push("--delete-branch".into());
    }
    a
}

/// `/images`, `/images/search`, `/images/{ref}`, `/images/pull`.
async fn images(
    home: &Home,
    method: &Method,
    rest: &[&str],
    query: &Query,
    body: &[u8],
) -> Response<Body> {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let b = query.backend();
    match (method, rest) {
        (&Method::GET, []) => {
            // ?engine= (or ?backend=) and ?agent=: each listed image says
            // which engine and agent its verdict assumed.
            let engine = query.get("engine").or(query.get("backend"));
            let mut a = args(&["image", "list", "--json"]);
            a.push(format!("--backend={}", engine.unwrap_or("docker")));
            if let Some(agent) = query.get("agent") {
                a.push(format!("--agent={agent}"));
            }
            json_result(home, a).await
        }
        (&Method::GET, ["search"]) => {
            let Some(q) = query.get("q").filter(|q| !q.is_empty()) else {
                return error(ErrorKind::BadInput, "GET /images/search?q=TERM[&limit=N]");
            };
            let limit = query.get("limit").unwrap_or("25");
            let limit = format!("--limit={limit}");
            let a = args(&["image", "search", "--json", &b, &limit, "--", q]);
            json_result(home, a).await
        }
        (&Method::POST, ["pull"]) => pull(home, body, query.flag("dry_run")).await,
        (&Method::GET, [image]) if *image != "pull" => check_image(home, image, &b).await,
        (_, []) | (_, ["search"]) => method_not_allowed("GET"),
        (_, ["pull"]) => method_not_allowed("POST"),
        (_, [_]) => method_not_allowed("GET"),
        _ => error(ErrorKind::NotFound, "no such route (see /openapi.json)"),
    }
}

/// The path's segments, percent-decoded (so `GET /images/ghcr.io%2Forg%2Fimg`
/// names an image with slashes).
pub(super) fn segments(path: &str) -> Option<Vec<String>> {
    path.trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

pub(super) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            // Two hex digits (from_str_radix alone would take "%+f").
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub(super) struct Query(Vec<(String, String)>);

impl Query {
    /// The pairs, or None when one is not percent-encoded UTF-8 (never
    /// dropped: a `?dry_run=%ZZ` left out would make a delete real).
    fn parse(q: Option<&str>) -> Option<Query> {
        let pairs = q
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, "1"));
                Some((percent_decode(k)?, percent_decode(v)?))
            });
        pairs.collect::<Option<Vec<_>>>().map(Query)
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `?key`, `?key=1|true|yes|on` is true, `0|false|no|off` false; any
    /// other value is an error, never a silent "no" (dry_run=True must not
    /// delete).
    pub(super) fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key).map(str::to_ascii_lowercase).as_deref(),
            Some("1" | "true" | "yes" | "on")
        )
    }

    fn bad_flag(&self) -> Option<String> {
        self.0.iter().find_map(|(k, v)| {
            let flagged = matches!(k.as_str(), "dry_run" | "delete_branch");
            let known = ["1", "true", "yes", "on", "0", "false", "no", "off"];
            (flagged && !known.contains(&v.to_ascii_lowercase().as_str()))
                .then(|| format!("?{k}={v}: use 1 or 0 (true/false)"))
        })
    }

    /// `?backend=`, passed on as the CLI's `--backend=VALUE` (which
    /// validates it; one argument, so the value cannot pass for a flag).
    fn backend(&self) -> String {
        format!("--backend={}", self.get("backend").unwrap_or("docker"))
    }
}

/// A command whose `--json` output is the answer.
pub(super) async fn json_result(home: &Home, args: Vec<String>) -> Response<Body> {
    answer(child::run(home, &args, &[]).await, StatusCode::OK, |f| {
        f.json()
    })
}

fn answer(
    finished: Finished,
    ok: StatusCode,
    body: impl Fn(&Finished) -> Option<Value>,
) -> Response<Body> {
    if finished.code != Some(0) {
        let (status, reason) = finished.failure();
        return crate::serve::json(status, &reason);
    }
    match body(&finished) {
        Some(value) => crate::serve::json(ok, &value),
        None => error(ErrorKind::Failed, "clauderon printed no JSON"),
    }
}

/// stop/start/refresh/delete of one session; with `dry_run` its plan.
pub(super) async fn action(
    home: &Home,
    mut args: Vec<String>,
    name: &str,
    done: &str,
    dry_run: bool,
) -> Response<Body> {
    if dry_run {
        args.extend(["--dry-run".into(), "--json".into()]);
    }
    args.extend(["--".into(), name.to_string()]);
    let finished = child::run(home, &args, &[]).await;
    answer(finished, StatusCode::OK, |f| match dry_run {
        true => f.json(),
        false => Some(json!({"name": name, "result": done})),
    })
}

/// `image check`: its JSON is the answer whether or not the image passes.
async fn check_image(home: &Home, image: &str, backend: &str) -> Response<Body> {
    let args: Vec<String> = ["image", "check", "--json", backend, "--", image]
        .map(String::from)
        .to_vec();
    let finished = child::run(home, &args, &[]).await;
    match finished.json() {
        Some(value) if matches!(finished.code, Some(0 | 1)) => {
            crate::serve::json(StatusCode::OK, &value)
        }
        _ => answer(finished, StatusCode::OK, |f| f.json()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PullBody {
    image: String,
    backend: Option<String>,
}

/// The `image pull` command line of a `POST /images/pull` body (and the
/// image and backend, for the answer), or a 400.
pub(super) fn pull_command(
    body: &[u8],
    dry_run: bool,
) -> Result<(Vec<String>, String, String), Box<Response<Body>>> {
    let req: PullBody = parse(body)?;
    let backend = req.backend.unwrap_or_else(|| "docker".into());
    // `--backend=VALUE`: no value of a request stands alone in an argv.
    let mut args = vec![
        "image".into(),
        "pull".into(),
        format!("--backend={backend}"),
    ];
    if dry_run {
        args.extend(["--dry-run".into(), "--json".into()]);
    }
    args.extend(["--".into(), req.image.clone()]);
    Ok((args, req.image, backend))
}

async fn pull(home: &Home, body: &[u8], dry_run: bool) -> Response<Body> {
    let (args, image, backend) = match pull_command(body, dry_run) {
        Ok(command) => command,
        Err(refused) => return *refused,
    };
    let finished = child::run(home, &args, &[]).await;
    answer(finished, StatusCode::OK, |f| match dry_run {
        true => f.json(),
        false => Some(json!({"image": image, "backend": backend, "result": "pulled"})),
    })
}

/// A JSON body of this shape, or a 400 that says what is wrong with it.
pub(super) fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Box<Response<Body>>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            ErrorKind::BadInput,
            format!("invalid request body: {e}"),
        ))
    })
}

/// `POST /v1/sessions`: the fields of `clauderon create`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    prompt: String,
    repo: String,
    name: Option<String>,
    backend: Option<String>,
    agent: Option<String>,
    image: Option<String>,
    pull_policy: Option<String>,
    cpu_limit: Option<String>,
    memory_limit: Option<String>,
    base: Option<String>,
    network: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    on_create: Vec<String>,
    #[serde(default)]
    post_start: Vec<String>,
    #[serde(default)]
    cap_add: Vec<String>,
    /// `--mount HOST[:CONTAINER][:rw]`, each under `[api] allowed_volume_roots`.
    #[serde(default)]
    mount: Vec<String>,
    /// `create --budget`: USD the session's model calls may cost.
    budget_usd: Option<f64>,
    /// `create --policy`: the session's own proxy policy mode.
    policy: Option<String>,
    /// `create --allow-host`/`--deny-host`, each exact or `*.suffix`.
    #[serde(default)]
    allow_hosts: Vec<String>,
    #[serde(default)]
    deny_hosts: Vec<String>,
}

impl CreateBody {
    /// The command line; `--flag=value`, so no value can pass for a flag.
    /// Env values go through the child's environment (`--env KEY`), so
    /// they are in no process's argv.
    fn args(&self) -> Vec<String> {
        let mut args = vec!["create".to_string(), "--json".into()];
        let mut flag = |name: &str, value: &str| args.push(format!("--{name}={value}"));
        flag("repo", &self.repo);
        // The prompt is the child's stdin: in no process list, no size limit of argv's.
        flag("prompt-file", "-");
        let optional = [
            ("name", &self.name),
            ("backend", &self.backend),
            ("agent", &self.agent),
            ("image", &self.image),
            ("pull-policy", &self.pull_policy),
            ("cpu-limit", &self.cpu_limit),
            ("memory-limit", &self.memory_limit),
            ("base", &self.base),
            ("network", &self.network),
            ("policy", &self.policy),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                flag(name, v);
            }
        }
        for (name, values) in [
            ("on-create", &self.on_create),
            ("post-start", &self.post_start),
            ("cap-add", &self.cap_add),
            ("mount", &self.mount),
            ("allow-host", &self.allow_hosts),
            ("deny-host", &self.deny_hosts),
        ] {
            for v in values {
                flag(name, v);
            }
        }
        for key in self.env.keys() {
            flag("env", key);
        }
        if let Some(usd) = self.budget_usd {
            flag("budget", &usd.to_string());
        }
        args
    }
}

/// The `create` command line, the `env` values and the prompt (the child's
/// stdin) of a `POST /v1/sessions` body, or a 400 that says what is wrong.
pub(super) type Command = (Vec<String>, Vec<(String, String)>, String);

pub(super) fn create_command(body: &[u8], dry_run: bool) -> Result<Command, Box<Response<Body>>> {
    let req: CreateBody = parse(body)?;
    child::absolute(&req.repo, "repo").map_err(|e| Box::new(refuse(&e)))?;
    // Names first: a bad one must not reach an environment.
    if let Some(key) = req.env.keys().find(|k| !crate::validate::env_name(k)) {
        let why = format!("env: {key:?} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
        return Err(Box::new(error(ErrorKind::BadInput, why)));
    }
    if let Some(key) = req
        .env
        .keys()
        .find(|k| crate::validate::changes_host_programs(k))
    {
        let why = super::run_request::host_program_env(key);
        return Err(Box::new(error(ErrorKind::BadInput, why)));
    }
    if let Some(Err(why)) = req.budget_usd.map(crate::usd::Usd::checked) {
        return Err(Box::new(error(
            ErrorKind::BadInput,
            format!("budget_usd: {why}"),
        )));
    }
    let mut args = req.args();
    if dry_run {
        args.push("--dry-run".into());
    }
    Ok((args, req.env.into_iter().collect(), req.prompt))
}

async fn create(home: &Home, body: &[u8], dry_run: bool) -> Response<Body> {
    let (args, env, prompt) = match create_command(body, dry_run) {
        Ok(command) => command,
        Err(refused) => return *refused,
    };
    let finished = child::run_until(home, &args, &env, Some(&prompt), None).await;
    let ok = match dry_run {
        true => StatusCode::OK,
        false => StatusCode::CREATED,
    };
    answer(finished, ok, |f| f.json())
}
