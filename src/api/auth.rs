//! Stromboli's `/auth` flow: `/auth/token` exchanges the API token for a
//! short-lived signed access token (and a refresh token), `/auth/refresh`
//! gives a new access token for a refresh token, `/auth/logout` revokes the
//! access token it is called with, and `/auth/validate` says what a token
//! is. Tokens are `cl1.<claims>.<HMAC-SHA256>` (base64url), signed with a
//! key derived from the API token: `clauderon api token --rotate` ends
//! every signed token at once. Revocations are kept in memory until the
//! token would have expired anyway (a restarted daemon forgets them; an
//! access token lives 15 minutes).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Api, error, method_not_allowed};
use crate::error::ErrorKind;
use crate::serve::Body;

const ACCESS_SECS: u64 = 15 * 60;
const REFRESH_SECS: u64 = 24 * 3600;
const PREFIX: &str = "cl1";

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    Access,
    Refresh,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    sub: String,
    #[serde(rename = "use")]
    for_use: Use,
    exp: u64,
    jti: String,
}

/// Who a request is: the holder of the API token, or of a signed token.
pub enum Bearer {
    ApiToken,
    Signed(Claims),
}

/// Revoked token ids, each with the time it expires anyway.
#[derive(Default)]
pub struct Revoked(Mutex<HashMap<String, u64>>);

impl Revoked {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn revoke(&self, claims: &Claims) {
        let now = crate::session::now();
        let mut revoked = self.lock();
        revoked.retain(|_, exp| *exp > now);
        revoked.insert(claims.jti.clone(), claims.exp);
    }

    /// The claims of a valid token of this use, or why it is not one.
    pub fn check(&self, api_token: &str, token: &str, want: Use) -> Result<Claims, String> {
        let claims = verify(api_token, token).ok_or("not a valid token")?;
        if claims.for_use != want {
            return Err(format!("this is a {:?} token", claims.for_use).to_lowercase());
        }
        if claims.exp <= crate::session::now() {
            return Err("the token has expired (POST /auth/refresh gives a new one)".into());
        }
        if self.lock().contains_key(&claims.jti) {
            return Err("the token was revoked (POST /auth/logout)".into());
        }
        Ok(claims)
    }
}

fn key(api_token: &str) -> ring::hmac::Key {
    let seed = format!("clauderon api signing key\0{api_token}");
    let derived = ring::digest::digest(&ring::digest::SHA256, seed.as_bytes());
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref())
}

fn sign(api_token: &str, sub: &str, for_use: Use, secs: u64) -> String {
    let claims = Claims {
        sub: sub.to_string(),
        for_use,
        exp: crate::session::now() + secs,
        jti: crate::session::new_uuid(),
    };
    let body = B64.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signed = format!("{PREFIX}.{body}");
    let tag = ring::hmac::sign(&key(api_token), signed.as_bytes());
    format!("{signed}.{}", B64.encode(tag.as_ref()))
}

/// The claims of a token this daemon signed (checked in constant time).
fn verify(api_token: &str, token: &str) -> Option<Claims> {
    let (signed, tag) = token.rsplit_once('.')?;
    let body = signed.strip_prefix(PREFIX)?.strip_prefix('.')?;
    let tag = B64.decode(tag).ok()?;
    ring::hmac::verify(&key(api_token), signed.as_bytes(), &tag).ok()?;
    serde_json::from_slice(&B64.decode(body).ok()?).ok()
}

fn tokens(api_token: &str, sub: &str, refresh: Option<&str>) -> serde_json::Value {
    let refresh = refresh.map_or_else(
        || sign(api_token, sub, Use::Refresh, REFRESH_SECS),
        String::from,
    );
    json!({
        "access_token": sign(api_token, sub, Use::Access, ACCESS_SECS),
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": ACCESS_SECS,
    })
}

#[derive(Deserialize)]
struct TokenRequest {
    client_id: String,
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

/// `/auth/...`, or None for other paths. `bearer` is None only for
/// `/auth/refresh`, which takes its refresh token in the body.
pub fn route(
    api: &Api,
    parts: &http::request::Parts,
    body: &[u8],
    bearer: Option<&Bearer>,
) -> Option<Response<Body>> {
    let path = parts.uri.path().strip_prefix("/auth/")?;
    let method = &parts.method;
    Some(match (method, path, bearer) {
        (&Method::POST, "token", Some(bearer)) => token(api, body, bearer),
        (&Method::POST, "refresh", _) => refresh(api, body),
        (&Method::POST, "logout", Some(bearer)) => logout(api, bearer),
        (&Method::GET, "validate", Some(bearer)) => validate(bearer),
        (_, "token" | "refresh" | "logout", _) => method_not_allowed("POST"),
        (_, "validate", _) => method_not_allowed("GET"),
        _ => error(ErrorKind::NotFound, "no such route (see /openapi.json)"),
    })
}

fn api_token(api: &Api) -> Result<String, Box<Response<Body>>> {
    super::token::load_or_create(&api.home).map_err(|e| Box::new(super::refuse(&e)))
}

fn token(api: &Api, body: &[u8], bearer: &Bearer) -> Response<Body> {
    if let Bearer::Signed(_) = bearer {
        let why = "an access token cannot make tokens: POST /auth/token with the API token (`clauderon api token`)";
        return error(ErrorKind::Unauthorized, why);
    }
    let request: TokenRequest = match super::routes::parse(body) {
        Ok(r) => r,
        Err(refused) => return *refused,
    };
    if request.client_id.trim().is_empty() || request.client_id.len() > 256 {
        return error(
            ErrorKind::BadInput,
            "`client_id` names the client: 1 to 256 characters",
        );
    }
    match api_token(api) {
        Ok(t) => crate::serve::json(StatusCode::OK, &tokens(&t, &request.client_id, None)),
        Err(refused) => *refused,
    }
}

fn refresh(api: &Api, body: &[u8]) -> Response<Body> {
    let request: RefreshRequest = match super::routes::parse(body) {
        Ok(r) => r,
        Err(refused) => return *refused,
    };
    let t = match api_token(api) {
        Ok(t) => t,
        Err(refused) => return *refused,
    };
    match api
        .auth
        .check(&t, request.refresh_token.trim(), Use::Refresh)
    {
        Ok(claims) => crate::serve::json(
            StatusCode::OK,
            &tokens(&t, &claims.sub, Some(request.refresh_token.trim())),
        ),
        Err(why) => error(ErrorKind::Unauthorized, why),
    }
}

fn logout(api: &Api, bearer: &Bearer) -> Response<Body> {
    let answer = match bearer {
        Bearer::Signed(claims) => {
            api.auth.revoke(claims);
            json!({"success": true, "message": "the access token is revoked"})
        }
        Bearer::ApiToken => json!({
            "success": false,
            "message": "the API token is not a session's token: `clauderon api token --rotate` replaces it",
        }),
    };
    crate::serve::json(StatusCode::OK, &answer)
}

fn validate(bearer: &Bearer) -> Response<Body> {
    let answer = match bearer {
        Bearer::Signed(claims) => {
            json!({"valid": true, "subject": claims.sub, "expires_at": claims.exp})
        }
        // The API token does not expire; 0 says so.
        Bearer::ApiToken => json!({"valid": true, "subject": "api-token", "expires_at": 0}),
    };
    crate::serve::json(StatusCode::OK, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_only_with_their_key_use_and_time() {
        let revoked = Revoked::default();
        let access = sign("key-one", "ci", Use::Access, 60);
        let claims = revoked.check("key-one", &access, Use::Access).unwrap();
        assert_eq!(claims.sub, "ci");
        assert!(revoked.check("key-two", &access, Use::Access).is_err());
        assert!(revoked.check("key-one", &access, Use::Refresh).is_err());
        let mut forged = access.clone();
        forged.insert(6, 'x');
        assert!(revoked.check("key-one", &forged, Use::Access).is_err());
        let expired = sign("key-one", "ci", Use::Access, 0);
        assert!(revoked.check("key-one", &expired, Use::Access).is_err());
        revoked.revoke(&claims);
        assert!(revoked.check("key-one", &access, Use::Access).is_err());
    }
}
