//! The daemon's books: every metered call priced, appended to its
//! session's ledger by a writer thread (the disk is never on a response's
//! path), and added to what the budgets compare: each session's spend and
//! the home's spend today, loaded from the ledgers the first time needed.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, mpsc};

use super::ledger::{self, Entry, Summary};
use super::pricing::Prices;
use super::{Api, Seen};
use crate::store::Home;

pub struct Books {
    home: Home,
    prices: Prices,
    spent: Mutex<Spent>,
    queue: Mutex<Option<mpsc::Sender<(String, Entry)>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[derive(Default)]
struct Spent {
    /// USD per session, since its creation.
    sessions: HashMap<String, f64>,
    /// The UTC day `today` is for, and the home's USD that day.
    day: String,
    today: Option<f64>,
}

impl Books {
    pub fn new(home: &Home, prices: Prices) -> Books {
        let (tx, rx) = mpsc::channel::<(String, Entry)>();
        let writer_home = home.clone();
        let writer = std::thread::Builder::new()
            .name("ledger".into())
            .spawn(move || write_until_closed(&writer_home, rx))
            .ok();
        Books {
            home: home.clone(),
            prices,
            spent: Mutex::default(),
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(writer),
        }
    }

    /// One finished (or cut) call: priced, counted, queued for the ledger.
    pub fn record(&self, session: &str, api: Api, seen: &Seen) {
        let model = seen.model.clone().unwrap_or_else(|| "unknown".into());
        let (cost, estimated) = if seen.usage {
            let cost = self.prices.cost(api, &model, &seen.tokens);
            let ceiling = || self.prices.ceiling_cost(api, &seen.tokens);
            (cost, cost.is_none().then(ceiling))
        } else {
            (None, None)
        };
        let entry = Entry {
            time_ms: now_ms(),
            api: api.as_str().into(),
            model,
            tokens: seen.tokens,
            cost_usd: cost,
            estimated_usd: estimated,
            unparsed: seen.unparsed,
        };
        {
            let mut spent = self.lock();
            let add = cost.or(estimated).unwrap_or(0.0);
            *self.session_spent(&mut spent, session) += add;
            *self.today(&mut spent, &ledger::day_of(entry.time_ms)) += add;
        }
        if let Some(tx) = self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send((session.to_string(), entry));
        }
    }

    /// (session's USD, the home's USD today).
    pub fn spent(&self, session: &str) -> (f64, f64) {
        let mut spent = self.lock();
        let s = *self.session_spent(&mut spent, session);
        let day = ledger::day_of(now_ms());
        (s, *self.today(&mut spent, &day))
    }

    fn session_spent<'s>(&self, spent: &'s mut Spent, session: &str) -> &'s mut f64 {
        if !spent.sessions.contains_key(session) {
            let cost = ledger::summary(&self.home, session).total().budget_spent();
            spent.sessions.insert(session.to_string(), cost);
        }
        spent.sessions.get_mut(session).expect("inserted above")
    }

    fn today<'s>(&self, spent: &'s mut Spent, day: &str) -> &'s mut f64 {
        if spent.day != day || spent.today.is_none() {
            spent.day = day.to_string();
            spent.today = Some(home_spent_on(&self.home, day));
        }
        spent.today.as_mut().expect("set above")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Spent> {
        self.spent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes what is queued and stops the writer (the daemon's shutdown).
    pub fn close(&self) {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = w.join();
        }
    }
}

impl Drop for Books {
    fn drop(&mut self) {
        self.close();
    }
}

/// Every session's USD on one UTC day.
pub fn home_spent_on(home: &Home, day: &str) -> f64 {
    let Ok((specs, _)) = home.load_all() else {
        return 0.0;
    };
    let live: f64 = specs
        .iter()
        .map(|s| ledger::summary(home, &s.name).day(day).budget_spent())
        .sum();
    live + super::deleted::spent_on(home, day)
}

/// The writer: each entry appended to its session's ledger as soon as it
/// comes (a crash loses at most the call in flight); the summaries of the
/// sessions written to are saved once no entry came for `SUMMARY_AFTER`
/// (a summary a crash loses is rebuilt from the ledger), so a busy proxy
/// does not rewrite them at every call.
fn write_until_closed(home: &Home, rx: mpsc::Receiver<(String, Entry)>) {
    let mut summaries: HashMap<String, Summary> = HashMap::new();
    let mut dirty = HashSet::new();
    loop {
        let next = if dirty.is_empty() {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(SUMMARY_AFTER)
        };
        match next {
            Ok((session, entry)) => {
                if append_one(home, &mut summaries, &session, &entry) {
                    dirty.insert(session);
                }
            }
            Err(why) => {
                for session in dirty.drain() {
                    let path = ledger::summary_path(home, &session);
                    let _ = ledger::save_summary(&path, &summaries[&session]);
                }
                if why == mpsc::RecvTimeoutError::Disconnected {
                    return;
                }
            }
        }
    }
}

const SUMMARY_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// One line appended, and the session's summary brought up to it.
fn append_one(
    home: &Home,
    summaries: &mut HashMap<String, Summary>,
    session: &str,
    entry: &Entry,
) -> bool {
    if !home.session_dir(session).is_dir() {
        return false; // deleted meanwhile
    }
    let summary = summaries
        .entry(session.to_string())
        .or_insert_with(|| ledger::summary(home, session));
    let Ok(len) = ledger::append(&ledger::ledger_path(home, session), entry) else {
        return false;
    };
    if len < summary.ledger_bytes {
        *summary = ledger::summary(home, session); // replaced under us
    } else {
        summary.add(entry);
        summary.ledger_bytes = len;
    }
    true
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
