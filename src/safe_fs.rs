//! Host-side writes into places an agent can also write (the shared
//! `.git`): never through a link it planted. The directory is opened
//! without following a link, the file is opened relative to it without
//! following one either, and it must be a regular file of ours.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Why `path` may not be written, if there is a reason: the offending path
/// (the file or its directory) and what it is: a link, not a regular file,
/// or someone else's. Missing is fine (it will be created).
pub fn planted(path: &Path) -> Option<(std::path::PathBuf, String)> {
    let dir = path.parent()?;
    for p in [dir, path] {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(p).unwrap_or_default();
            return Some((
                p.to_path_buf(),
                format!(
                    "{} is a symbolic link (to {})",
                    p.display(),
                    target.display()
                ),
            ));
        }
        let wanted_dir = p == dir;
        if wanted_dir != meta.is_dir() || (!wanted_dir && !meta.is_file()) {
            let kind = if wanted_dir { "directory" } else { "file" };
            return Some((
                p.to_path_buf(),
                format!("{} is not a regular {kind}", p.display()),
            ));
        }
        // SAFETY: geteuid cannot fail and touches no memory.
        if meta.uid() != unsafe { libc::geteuid() } {
            let why = format!("{} belongs to uid {}, not to you", p.display(), meta.uid());
            return Some((p.to_path_buf(), why));
        }
    }
    None
}

/// Appends to `path` (creating it and its directory), following no link.
pub fn append_no_follow(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::other("not a file path"));
    };
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let dir_fd = open(
        None,
        dir.as_os_str().as_bytes(),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )?;
    let fd = open(
        Some(&dir_fd),
        name.as_bytes(),
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT,
        0o644,
    )?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata()?;
    // SAFETY: geteuid cannot fail and touches no memory.
    if !meta.is_file() || meta.uid() != unsafe { libc::geteuid() } {
        return Err(std::io::Error::other(
            "it is not a regular file of yours (planted?)",
        ));
    }
    (&file).write_all(contents)
}

/// `openat(dir or AT_FDCWD, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)`.
fn open(dir: Option<&OwnedFd>, name: &[u8], flags: i32, mode: u32) -> std::io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let name = CString::new(name).map_err(|_| std::io::Error::other("a NUL byte in a path"))?;
    let at = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: a NUL-terminated path that outlives the call; the returned
    // descriptor is owned at once.
    let fd = unsafe {
        libc::openat(
            at,
            name.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ELOOP) {
            return Err(std::io::Error::other("it is a symbolic link (planted?)"));
        }
        return Err(e);
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_never_followed() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("victim");
        std::fs::write(&target, "mine\n").unwrap();
        let info = d.path().join("info");
        std::fs::create_dir(&info).unwrap();
        std::os::unix::fs::symlink(&target, info.join("exclude")).unwrap();
        let (offender, why) = planted(&info.join("exclude")).unwrap();
        assert!(
            why.contains("symbolic link") && offender == info.join("exclude"),
            "{why}"
        );
        assert!(append_no_follow(&info.join("exclude"), b"x").is_err());
        // A linked directory is refused as well.
        let other = d.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::os::unix::fs::symlink(&other, d.path().join("info2")).unwrap();
        assert_eq!(
            planted(&d.path().join("info2/exclude")).unwrap().0,
            d.path().join("info2")
        );
        assert!(append_no_follow(&d.path().join("info2/exclude"), b"x").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
        assert!(!other.join("exclude").exists());
        // A plain file (or none) is appended to.
        let fresh = d.path().join("fresh/exclude");
        assert!(planted(&fresh).is_none());
        append_no_follow(&fresh, b"a\n").unwrap();
        append_no_follow(&fresh, b"b\n").unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "a\nb\n");
    }
}
