//! A credential's bounds, checked before its placeholder is swapped: the
//! methods and paths a configured rule names, and the built-in GitHub
//! rule's scope (the session's repository, pushes to its branch, GraphQL
//! queries only). A request outside them is refused with a 403 naming the
//! rule and the setting that would allow it; it never goes upstream, not
//! even with the placeholder.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::*;
use crate::proxy::github::{self, Verdict};
use crate::proxy::pktline::{self, Parsed};
use crate::proxy::rules::RuleScope;
use crate::proxy::scope::normalize_path;

/// A GraphQL request body is read whole to be checked; up to this much.
const MAX_GRAPHQL_BODY: usize = 256 * 1024;
/// A refused push's pack is read and dropped (so git sees the answer, not
/// a broken pipe) for up to this long.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Why a request was refused, and the answer the client gets.
pub(super) struct Refusal {
    pub response: Box<Response<Body>>,
    pub why: String,
}

fn forbidden(why: String) -> Refusal {
    Refusal {
        response: Box::new(text(
            StatusCode::FORBIDDEN,
            &format!("clauderon proxy: {why}"),
        )),
        why,
    }
}

/// What the body must be checked for once the path is allowed.
enum BodyCheck {
    None,
    Push(String),
    Graphql,
}

impl Proxy {
    /// The body to forward, or the refusal, for a request to `host`.
    pub(super) async fn guard(
        &self,
        session: &str,
        host: &str,
        parts: &http::request::Parts,
        body: Incoming,
    ) -> Result<Body, Refusal> {
        let mut check = BodyCheck::None;
        let configured = self.rules();
        for rule in rules::carried(&configured, host, &parts.headers) {
            match &rule.scope {
                RuleScope::Bounds(bounds) => bounds
                    .check(parts.method.as_str(), parts.uri.path())
                    .map_err(|why| forbidden(configured_refusal(rule, &why)))?,
                RuleScope::Github { git } => {
                    check = self.github_verdict(session, *git, parts)?;
                }
            }
        }
        match check {
            BodyCheck::None => Ok(body.boxed()),
            BodyCheck::Push(branch) => check_push(session, &branch, parts, body).await,
            BodyCheck::Graphql => check_graphql(parts, body).await,
        }
    }

    fn github_verdict(
        &self,
        session: &str,
        git: bool,
        parts: &http::request::Parts,
    ) -> Result<BodyCheck, Refusal> {
        let applied = self.live.current();
        let scope = &applied.github;
        if scope.account {
            return Ok(BodyCheck::None);
        }
        let facts = self.tokens.facts(session);
        let mut repos: Vec<github::RepoRef> = facts
            .as_ref()
            .and_then(|f| f.remote_url.as_deref())
            .and_then(github::RepoRef::from_remote)
            .into_iter()
            .collect();
        repos.extend(scope.extra_repos.iter().cloned());
        if facts.is_none() && repos.is_empty() {
            return Err(forbidden(format!(
                "the GitHub credential opens only the session's own repository, and this daemon keeps no record of session {session} to name it (the in-cluster daemon reads none), so it opens none here; kubernetes sessions cannot use the GitHub credential yet: use --backend docker or podman"
            )));
        }
        let refuse = |why: String| forbidden(github_refusal(session, &repos, &why));
        let path = normalize_path(parts.uri.path()).map_err(&refuse)?;
        match github::decide(git, parts.method.as_str(), &path, &repos) {
            Verdict::Allow => Ok(BodyCheck::None),
            Verdict::GraphqlQuery => Ok(BodyCheck::Graphql),
            Verdict::Refuse(why) => Err(refuse(why)),
            Verdict::ReceivePack => match facts {
                Some(f) => Ok(BodyCheck::Push(f.branch.clone())),
                None => Err(refuse("the session's branch is not known here".into())),
            },
        }
    }
}

fn configured_refusal(rule: &Rule, why: &str) -> String {
    format!(
        "the credential of the [[proxy.rules]] rule for {} (header {}) is not sent with this request: {why}; to allow it, add the path to that rule's `paths` (or the method to its `methods`) in config.toml (the daemon applies it within a second, no restart)",
        rule.host, rule.header
    )
}

fn github_refusal(session: &str, repos: &[github::RepoRef], why: &str) -> String {
    let opened = if repos.is_empty() {
        "no repository (its repository had no github.com remote at create)".to_string()
    } else {
        repos
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "the GitHub credential of session {session} opens only {opened} ([proxy.github] scope = \"repo\"): {why}; to open another repository add \"OWNER/REPO\" to [proxy.github] repos, or set [proxy.github] scope = \"account\", in config.toml (applied live, no restart)"
    )
}

/// The ref updates at the start of a push, read before anything is sent
/// upstream: all must name the session's branch or refs under it.
async fn check_push(
    session: &str,
    branch: &str,
    parts: &http::request::Parts,
    mut body: Incoming,
) -> Result<Body, Refusal> {
    if parts.headers.contains_key(http::header::CONTENT_ENCODING) {
        return Err(forbidden("a compressed push cannot be checked".into()));
    }
    let mut prefix = Vec::new();
    let commands = loop {
        match pktline::parse_commands(&prefix) {
            Parsed::Done(c) => break c,
            Parsed::Refused(why) => return Err(forbidden(format!("push refused: {why}"))),
            Parsed::NeedMore => match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        prefix.extend_from_slice(data);
                    }
                }
                _ => return Err(forbidden("push refused: the body ended early".into())),
            },
        }
    };
    let outside: Vec<&str> = commands
        .updates
        .iter()
        .map(|u| u.name.as_str())
        .filter(|name| !pktline::is_session_ref(branch, name))
        .collect();
    if outside.is_empty() {
        let rest = Prefixed {
            prefix: Some(Bytes::from(prefix)),
            rest: body,
        };
        return Ok(rest.boxed());
    }
    let why = format!(
        "session {session} may push only to refs/heads/{branch} and refs/heads/{branch}/..., not {}",
        outside.join(", ")
    );
    drain(body).await;
    if !commands.has("report-status") && !commands.has("report-status-v2") {
        return Err(forbidden(why));
    }
    let mut response = Response::new(
        http_body_util::Full::new(Bytes::from(pktline::refusal_report(&commands, &why)))
            .map_err(|never| match never {})
            .boxed(),
    );
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-git-receive-pack-result"),
    );
    Err(Refusal {
        response: Box::new(response),
        why,
    })
}

/// Reads and drops the rest of a body, for a limited time.
async fn drain(mut body: Incoming) {
    let _ = tokio::time::timeout(DRAIN_LIMIT, async {
        while let Some(Ok(_)) = body.frame().await {}
    })
    .await;
}

/// A GraphQL body is read whole (bounded) and must hold queries only.
async fn check_graphql(parts: &http::request::Parts, body: Incoming) -> Result<Body, Refusal> {
    if parts.headers.contains_key(http::header::CONTENT_ENCODING) {
        return Err(forbidden(
            "a compressed GraphQL request cannot be checked".into(),
        ));
    }
    let limited = http_body_util::Limited::new(body, MAX_GRAPHQL_BODY);
    let bytes = match limited.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let why = format!("a GraphQL request over {MAX_GRAPHQL_BODY} bytes cannot be checked");
            return Err(forbidden(why));
        }
    };
    github::graphql_is_query(&bytes).map_err(forbidden)?;
    Ok(http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed())
}

/// The bytes already read, then the rest of the body as it arrives.
struct Prefixed {
    prefix: Option<Bytes>,
    rest: Incoming,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(prefix) = self.prefix.take().filter(|p| !p.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.as_ref().is_none_or(|p| p.is_empty()) && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let held = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + held);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + held);
        }
        hint
    }
}
