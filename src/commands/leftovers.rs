//! Engines that may hold a container of this home with no session record:
//! `delete --force` could not remove it (the engine did not answer). `list`
//! asks only the engines its sessions use (its speed bar is one `ps` per
//! engine in use), so a marked engine is asked too until it answers with
//! no such container left. One empty file per engine: `leftovers/<engine>`.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::session::BackendKind;
use crate::store::Home;

fn marker(home: &Home, kind: BackendKind) -> PathBuf {
    home.root.join("leftovers").join(kind.as_str())
}

/// Marks `kind` as holding a leftover container.
pub fn mark(home: &Home, kind: BackendKind) -> Result<()> {
    let path = marker(home, kind);
    let dir = path.parent().expect("a marker has a directory");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, b""))
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))
}

/// Whether `kind` is marked.
pub fn marked(home: &Home, kind: BackendKind) -> bool {
    marker(home, kind).is_file()
}

/// `kind` answered and holds no leftover of this home any more.
pub fn clear(home: &Home, kind: BackendKind) {
    let _ = std::fs::remove_file(marker(home, kind));
}
