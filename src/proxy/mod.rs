//! The credential-injecting proxy: containers hold placeholders, the proxy
//! (inside the daemon) swaps in the real secrets on the way out.

pub mod audit;
pub mod audit_chain;
pub mod ca;
pub mod ca_key;
pub mod command;
pub mod credentials;
pub mod metrics;
pub mod policy;
pub mod rules;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod usage;
