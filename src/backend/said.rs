//! What a session's backend says to the user: the title of a command's
//! dry run and the lines a command prints when it is done. The commands
//! print them; what differs per backend is here, not in the commands.

use super::Backend;
use crate::error::Error;
use crate::session::SessionSpec;

impl Backend<'_> {
    /// The title of a command's plan (`# clauderon stop NAME (dry run ...)`):
    /// the Kubernetes flows name the verb alone, as their snapshots pin.
    pub fn title(&self, verb: &str, name: &str) -> String {
        match self {
            Backend::Oci(_) | Backend::Compose(..) => format!("{verb} {name}"),
            Backend::Kube(..) => verb.to_string(),
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

    /// The error of a verb that needs the session's container (its pod)
    /// and finds none, with the way back.
    pub fn missing(&self, spec: &SessionSpec) -> Error {
        match self {
            Backend::Oci(_) | Backend::Compose(..) => Error::failed(format!(
                "the container of session '{}' ({}) no longer exists",
                spec.name,
                spec.container_name()
            ))
            .with_fix(format!(
                "`clauderon refresh {0}` recreates it with the same settings, or `clauderon delete {0}` removes the session",
                spec.name
            )),
            Backend::Kube(..) => {
                Error::failed(format!("session '{}' has no running pod", spec.name))
                    .with_fix(format!("`clauderon start {}` starts it again", spec.name))
            }
        }
    }
}
