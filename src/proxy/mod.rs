//! The credential-injecting proxy: containers hold placeholders, the proxy
//! (inside the daemon) swaps in the real secrets on the way out.

pub mod approvals;
pub mod audit;
pub mod audit_chain;
pub mod ca;
pub mod ca_key;
pub mod command;
pub mod credentials;
pub mod github;
pub mod health;
pub mod live;
pub mod metrics;
pub mod pktline;
pub mod policy;
pub mod rules;
pub mod scope;
pub mod secrets;
pub mod server;
pub mod session_policy;
pub mod settings;
pub mod usage;

/// The seeded PRNG of the property tests (shared with the API's; loaded
/// here once for the proxy's).
#[cfg(test)]
#[allow(clippy::duplicate_mod)]
#[path = "../../tests/support/fuzz_json.rs"]
pub(crate) mod fuzz_json;
