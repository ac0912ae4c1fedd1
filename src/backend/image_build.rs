//! `build` of an image the repository describes (devcontainer.json's
//! `build`): the engine's own build, argv only.

use std::path::Path;

use crate::backend::oci::Engine;
use crate::exec::Cmd;

impl Engine {
    /// `docker build --tag TAG --file DOCKERFILE [--build-arg K=V].. [--target T] CONTEXT`.
    pub fn build_image(
        &self,
        tag: &str,
        dockerfile: &Path,
        context: &Path,
        args: &[(String, String)],
        target: Option<&str>,
    ) -> Cmd {
        let mut cmd = self
            .cmd()
            .args(["build", "--tag", tag, "--file"])
            .arg(dockerfile.to_string_lossy().to_string());
        for (k, v) in args {
            cmd = cmd.args(["--build-arg", &format!("{k}={v}")]);
        }
        if let Some(t) = target {
            cmd = cmd.args(["--target", t]);
        }
        cmd.arg(context.to_string_lossy().to_string()).live()
    }
}

impl Engine {
    /// Whether `command` is on the image's PATH: a throwaway container
    /// with no network, the name passed as an argument (never as code).
    pub fn command_exists(&self, image: &str, command: &str) -> Cmd {
        self.cmd()
            .args([
                "run",
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "sh",
                image,
            ])
            .args(["-c", "command -v \"$1\" >/dev/null", "sh", command])
    }
}
