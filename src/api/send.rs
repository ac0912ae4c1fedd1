//! `POST /v1/sessions/{name}/messages` with `{"message": "..."}`: the
//! CLI's `clauderon send`, run as the child every request is. The message
//! reaches it in a file (0600, removed after), never in argv, so any text
//! (a lone `-` included) arrives byte for byte.

use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::child;
use super::error;
use crate::error::ErrorKind;
use crate::serve::Body;
use crate::store::Home;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendRequest {
    message: String,
}

pub async fn send(home: &Home, name: &str, body: &[u8], dry_run: bool) -> Response<Body> {
    let request: SendRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                ErrorKind::BadInput,
                format!("the body must be {{\"message\": \"...\"}}: {e}"),
            );
        }
    };
    let finished = match send_text(home, name, &request.message, dry_run).await {
        Ok(finished) => finished,
        Err(e) => return super::refuse(&e),
    };
    if finished.code != Some(0) {
        let (status, reason) = finished.failure();
        return crate::serve::json(status, &reason);
    }
    match dry_run {
        true => match finished.json() {
            Some(plan) => crate::serve::json(StatusCode::OK, &plan),
            None => error(ErrorKind::Failed, "clauderon printed no JSON"),
        },
        false => crate::serve::json(
            StatusCode::ACCEPTED,
            &json!({"name": name, "result": "sent"}),
        ),
    }
}

/// `clauderon send --file F -- NAME`, the text in a file (0600, removed
/// after): the follow-up of a session, and the prompt of a resumed run.
pub(super) async fn send_text(
    home: &Home,
    name: &str,
    text: &str,
    dry_run: bool,
) -> crate::error::Result<child::Finished> {
    let keep = |e: std::io::Error| crate::error::Error::io("could not keep the message", e);
    let file = tempfile::Builder::new()
        .prefix("send-")
        .tempfile_in(&home.root)
        .map_err(keep)?;
    std::fs::write(file.path(), text.as_bytes()).map_err(keep)?;
    let mut args: Vec<String> = vec!["send".into(), "--file".into()];
    args.push(file.path().to_string_lossy().into_owned());
    if dry_run {
        args.extend(["--dry-run".into(), "--json".into()]);
    }
    args.extend(["--".into(), name.to_string()]);
    Ok(child::run(home, &args, &[]).await)
}
