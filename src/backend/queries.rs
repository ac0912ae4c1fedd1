//! The engine commands besides a session's own: image, volume and network
//! queries, image builds and the image probe. Every engine argv is built
//! in `src/backend/`; everything else asks for one here.

use std::path::Path;

use crate::backend::engine::Engine;
use crate::exec::Cmd;

impl Engine {
    /// The clauderon home a container belongs to (its `clauderon.home` label).
    pub fn container_home(&self, container: &str) -> Cmd {
        let format = format!(
            "{{{{index .Config.Labels {:?}}}}}",
            crate::backend::engine::label::HOME
        );
        self.cmd()
            .args(["container", "inspect", "--format", &format, container])
    }

    /// `AGENT --version` in a throwaway container called `name`, with no
    /// network; bounded (a real CLI answers in well under a second), and the
    /// caller removes `name` if it had to be killed.
    pub fn agent_version(&self, image: &str, agent: &str, name: &str) -> Cmd {
        self.cmd()
            .args(["run", "--rm", "--name", name, "--network", "none"])
            .args(["--entrypoint", agent, image, "--version"])
            .time_limit(std::time::Duration::from_secs(5))
    }

    /// `images`: every local image as `repository:tag`.
    pub fn list_images(&self) -> Cmd {
        self.cmd()
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
    }

    /// `search` in the engine's registries: one line per result, its name,
    /// description, stars and whether it is official, tab-separated.
    pub fn search(&self, term: &str, limit: u32) -> Cmd {
        let format = if self.is_docker() {
            "{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"
        } else {
            "{{.Name}}\t{{.Description}}\t{{.Stars}}\t{{.Official}}"
        };
        self.cmd()
            .args(["search", "--no-trunc", "--limit", &limit.to_string()])
            .args(["--format", format, "--", term])
    }

    /// Waits for a container to exit and prints its exit code.
    pub fn wait(&self, container: &str) -> Cmd {
        self.cmd().args(["wait", container])
    }

    /// The value of one label of a local image ("" when it has none).
    pub fn image_label(&self, image: &str, label: &str) -> Cmd {
        let format = format!("{{{{index .Config.Labels {label:?}}}}}");
        self.cmd()
            .args(["image", "inspect", "--format", &format, image])
    }

    /// Builds `tag` from `containerfile` in `context` (output shown live).
    pub fn build(&self, tag: &str, containerfile: &Path, context: &Path) -> Cmd {
        self.cmd()
            .args(["build", "--tag", tag, "--file"])
            .arg(containerfile.to_string_lossy())
            .arg(context.to_string_lossy())
            .live()
    }

    /// `system df`: Docker's volumes as JSON, Podman's as its table.
    pub fn disk_usage(&self) -> Cmd {
        if self.is_docker() {
            self.cmd()
                .args(["system", "df", "--verbose", "--format", "{{json .Volumes}}"])
        } else {
            self.cmd().args(["system", "df", "--verbose"])
        }
    }

    pub fn remove_volumes<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Cmd {
        self.cmd().args(["volume", "rm"]).args(names)
    }

    /// Docker's default bridge: its IPAM gateways, `|`, its interface name.
    pub fn bridge_network(&self) -> Cmd {
        let format = "{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options \"com.docker.network.bridge.name\"}}";
        self.cmd()
            .args(["network", "inspect", "bridge", "--format", format])
    }

    /// The image probe: `script` run by /bin/sh in a throwaway container
    /// of `image`, hardened, without network, as `uid:gid`, with `scratch`
    /// at /workspace.
    pub fn probe(&self, image: &str, uid: u32, gid: u32, scratch: &Path, script: &str) -> Cmd {
        self.cmd()
            .args(["run", "--rm", "--pull", "never", "--network", "none"])
            .args(["--cap-drop", "ALL", "--security-opt", "no-new-privileges"])
            .args(["--entrypoint", "/bin/sh"])
            .args(["--user", &format!("{uid}:{gid}")])
            .args([
                "--mount",
                &format!("type=bind,src={},dst=/workspace", scratch.display()),
            ])
            .args([image, "-c", script])
    }
}
