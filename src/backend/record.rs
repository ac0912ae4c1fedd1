//! The steps every backend's create starts from: the session's directory
//! (taking it reserves the name) and its record.

use crate::plan::{Plan, Step};
use crate::session::SessionSpec;
use crate::store::{Home, record_bytes};

/// Makes the session's directory, which must not exist yet: that is what
/// reserves the name (undone by removing it).
pub fn reserve_session_dir(plan: &mut Plan, home: &Home, name: &str) {
    let session_dir = home.session_dir(name);
    plan.push_undoable(
        Step::Mkdir {
            path: session_dir.clone(),
            mode: 0o700,
            exclusive: true,
        },
        vec![Step::RemoveDir { path: session_dir }],
    );
}

pub fn record_step(spec: &SessionSpec, home: &Home) -> Step {
    Step::WriteFile {
        path: home.record_path(&spec.name),
        contents: record_bytes(spec),
        mode: 0o600,
        secret: true,
    }
}
