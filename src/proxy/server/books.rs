//! The proxy's hooks into the books: a model call is refused when a
//! budget is spent, and a model call's response is metered.

use super::*;
use crate::proxy::usage::books::Books;
use crate::proxy::usage::meter::{Meter, MeteredBody, MeteredIo};
use crate::proxy::usage::{Api, budget};

/// The daemon's books and the budget every session shares.
pub struct Bookkeeping {
    pub books: Arc<Books>,
    /// `[budget] daily_usd`.
    pub daily: Option<f64>,
    /// config.toml, named in the daily budget's refusal.
    pub config: std::path::PathBuf,
}

impl Proxy {
    /// Model calls of this proxy's sessions are metered and booked, and
    /// refused once a budget is spent.
    pub fn keeping_books(mut self, bookkeeping: Bookkeeping) -> Proxy {
        self.bookkeeping = Some(bookkeeping);
        self
    }

    /// The API's own refusal when the session's (or the day's) budget is
    /// spent; None lets the call go.
    pub(super) fn over_budget(&self, log: &Logged<'_>, api: Api) -> Option<Response<Body>> {
        let keeping = self.bookkeeping.as_ref()?;
        let session_budget = self.tokens.budget(&self.home, log.session).map(|u| u.0);
        if session_budget.is_none() && keeping.daily.is_none() {
            return None;
        }
        let (spent, today) = keeping.books.spent(log.session);
        let exhausted = budget::check(session_budget, spent, keeping.daily, today)?;
        let message = exhausted.message(log.session, &keeping.config);
        let resp = exhausted.response(api, &message);
        let why = format!("budget exhausted: {message}");
        self.audit(log, resp.status().as_u16(), "denied", Some(why));
        Some(resp)
    }

    /// The response's body with a meter on it (a successful model call).
    pub(super) fn metered(
        &self,
        session: &str,
        api: Option<Api>,
        parts: &http::response::Parts,
        body: Body,
    ) -> Body {
        let (Some(api), Some(keeping)) = (api, self.bookkeeping.as_ref()) else {
            return body;
        };
        if !parts.status.is_success() {
            return body;
        }
        match Meter::for_response(api, &parts.headers, &keeping.books, session) {
            Some(meter) => MeteredBody::new(body, meter).boxed(),
            None => body,
        }
    }

    /// A meter for a Responses WebSocket's server side, when books are kept.
    pub(super) fn websocket_meter(&self, session: &str, api: Option<Api>) -> Option<Meter> {
        let keeping = self.bookkeeping.as_ref()?;
        api?;
        Some(Meter::for_websocket(&keeping.books, session))
    }

    /// Writes the ledger entries still queued (the daemon's shutdown).
    pub fn close_books(&self) {
        if let Some(k) = &self.bookkeeping {
            k.books.close();
        }
    }
}

/// Joins the two sides of an upgraded connection, metering what the
/// server sends when there is a meter.
pub(super) async fn join_upgraded(
    client: hyper::upgrade::Upgraded,
    upstream: hyper::upgrade::Upgraded,
    meter: Option<Meter>,
) {
    let mut client = TokioIo::new(client);
    let upstream = TokioIo::new(upstream);
    match meter {
        Some(meter) => {
            let mut upstream = MeteredIo::new(upstream, meter);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        None => {
            let mut upstream = upstream;
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    }
}
