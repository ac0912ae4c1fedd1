//! Backends render engine commands from a session spec; they never run them.
//! Docker (and Podman next) share the OCI renderer.

pub mod oci;
