//! The integration tests, one binary (as uv does): each module was a test
//! binary of its own, each compiling its own copy of `common`. Run one module
//! with `cargo nextest run --test it <module>::` (for example `plans::`).

mod common;

mod api;
mod api_jobs;
mod api_limits;
mod api_load;
mod api_podman;
mod api_stromboli;
mod api_volumes;
mod attention;
mod cli;
mod cli_config;
mod codex;
mod codex_images;
mod compose;
mod compose_plans;
mod compose_podman;
mod compose_tools;
mod daemon_image;
mod docker;
mod docker_commands;
mod docker_rollback;
mod docs_commands;
mod doctor;
mod hooks;
mod host_files;
mod hostile;
mod isolation;
mod json;
mod kube_daemon;
mod kube_plans;
mod kube_setup;
mod kubernetes;
mod kubernetes_failures;
mod land_api;
mod land_codex;
mod land_diff_merge;
mod land_pr_delete;
mod land_send;
mod land_transcript;
mod newuser_ci;
mod newuser_podman_backends;
mod plans;
mod podman;
mod podman_images;
mod proxy;
mod proxy_faults;
mod proxy_websocket;
mod setup_devcontainer;
mod setup_devcontainer_podman;
mod setup_mcp;
mod setup_user_config;
