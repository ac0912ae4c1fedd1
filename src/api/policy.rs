//! `/v1/sessions/{name}/policy`: a session's own proxy policy, what
//! `clauderon policy` shows and changes. GET answers the effective policy;
//! POST `{"action": "allow"|"deny"|"reset", "host": "..."}` changes it
//! live (the proxy applies it to the session's next connection).

use http::{Method, Response};
use serde::Deserialize;

use super::{error, method_not_allowed};
use crate::error::ErrorKind;
use crate::serve::Body;
use crate::store::Home;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    action: String,
    #[serde(default)]
    host: Option<String>,
}

pub(super) async fn route(home: &Home, method: &Method, name: &str, body: &[u8]) -> Response<Body> {
    let mut args: Vec<String> = vec!["policy".into(), "--json".into(), "--".into(), name.into()];
    match *method {
        Method::GET => {}
        Method::POST => {
            let change: Change = match serde_json::from_slice(body) {
                Ok(c) => c,
                Err(e) => {
                    let why = format!(
                        "the body is not {{\"action\": \"allow\"|\"deny\"|\"reset\", \"host\": \"...\"}}: {e}"
                    );
                    return error(ErrorKind::BadInput, why);
                }
            };
            if !["allow", "deny", "reset"].contains(&change.action.as_str()) {
                return error(ErrorKind::BadInput, "action is allow, deny or reset");
            }
            args.push(change.action);
            args.extend(change.host);
        }
        _ => return method_not_allowed("GET, POST"),
    }
    super::routes::json_result(home, args).await
}
