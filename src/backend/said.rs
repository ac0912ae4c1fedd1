//! What a session's backend says to the user: the title of a command's
//! dry run and the lines a command prints when it is done. The commands
//! print them; what differs per backend is here, not in the commands.

use super::Backend;

impl Backend<'_> {
    /// The title of a command's plan (`# clauderon stop NAME (dry run ...)`):
    /// the Kubernetes flows name the verb alone, as their snapshots pin.
    pub fn title(&self, verb: &str, name: &str) -> String {
        match self {
            Backend::Oci(_) | Backend::Compose(..) => format!("{verb} {name}"),
            Backend::Kube(..) => verb.to_string(),
        }
    }

    /// Prints what a command did, on stdout: through `output::info` (not
    /// with `--quiet` or `--json`); the Kubernetes flows always print it.
    pub fn say(&self, line: String) {
        match self {
            Backend::Oci(_) | Backend::Compose(..) => crate::output::info(line),
            Backend::Kube(..) => println!("{line}"),
        }
    }

    /// What `stop` says once the session is stopped.
    pub fn stopped(&self, name: &str) -> String {
        match self {
            Backend::Oci(_) | Backend::Compose(..) => {
                format!("Stopped {name}. `clauderon start {name}` resumes it.")
            }
            Backend::Kube(..) => format!(
                "Stopped {name} (pod deleted; its volume and files are kept). `clauderon start {name}` resumes it."
            ),
        }
    }
}
