//! Host-side writes into places an agent can also write (the shared
//! `.git`): never through a link it planted. The directory is opened
//! without following a link, the file is opened relative to it without
//! following one either, and it must be a regular file of ours.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustix::fs::{AtFlags, CWD, Mode, OFlags};
use rustix::io::Errno;

/// `open(2)` flags for `OpenOptionsExt::custom_flags`: do not follow a
/// link in the last component; do not block on a FIFO put in a file's place.
pub const O_NOFOLLOW: i32 = OFlags::NOFOLLOW.bits() as i32;
pub const O_NONBLOCK: i32 = OFlags::NONBLOCK.bits() as i32;

/// This process's effective uid: what "a file of ours" means.
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

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
        if meta.uid() != euid() {
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
    let dir_fd = open(None, dir.as_os_str().as_bytes(), DIRECTORY, 0)?;
    let fd = open(
        Some(&dir_fd),
        name.as_bytes(),
        OFlags::RDWR | OFlags::APPEND | OFlags::CREATE,
        0o644,
    )?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() || meta.uid() != euid() {
        return Err(std::io::Error::other(
            "it is not a regular file of yours (planted?)",
        ));
    }
    // Under a lock, and only if some line is not there yet: two commands
    // appending the same block at once write it once. The file is shared
    // with the agents, so a lock held too long is given up on, not waited for.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while file.try_lock().is_err() {
        if std::time::Instant::now() > deadline {
            return Err(std::io::Error::other(
                "it stayed locked by another process for 3 s (an agent holding it?)",
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut current = String::new();
    std::io::Read::read_to_string(&mut &file, &mut current)?;
    let present: std::collections::HashSet<&str> = current.lines().collect();
    let text = String::from_utf8_lossy(contents);
    if text
        .lines()
        .filter(|l| !l.is_empty())
        .all(|l| present.contains(l))
    {
        return Ok(());
    }
    (&file).write_all(contents)
}

/// Opens `root/relative`'s directories one by one, following no link, and
/// returns the last one (the root itself is trusted).
fn walk(root: &Path, dirs: &[&std::ffi::OsStr], create: Option<u32>) -> std::io::Result<OwnedFd> {
    let mut dir = open(None, root.as_os_str().as_bytes(), DIRECTORY, 0)?;
    for name in dirs {
        if let Some(mode) = create {
            no_nul(name.as_bytes())?;
            match rustix::fs::mkdirat(&dir, *name, Mode::from_raw_mode(mode)) {
                Err(e) if e != Errno::EXIST => return Err(e.into()),
                _ => {}
            }
        }
        dir = open(Some(&dir), name.as_bytes(), DIRECTORY, 0)?;
    }
    Ok(dir)
}

fn components(relative: &Path) -> Vec<&std::ffi::OsStr> {
    relative
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// `mkdir -p root/relative`, where everything below `root` may be the
/// agent's: no link is followed, so nothing is made outside `root`.
pub fn mkdirs_below(root: &Path, relative: &Path, mode: u32) -> std::io::Result<()> {
    walk(root, &components(relative), Some(mode)).map(|_| ())
}

/// The start of the regular file `root/relative` (at most `max` bytes),
/// opened without following a link and without blocking (a FIFO or a
/// device planted there is refused, not read).
pub fn read_below(root: &Path, relative: &Path, max: u64) -> std::io::Result<String> {
    use std::io::Read;
    let parts = components(relative);
    let (name, dirs) = parts
        .split_last()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    let dir = walk(root, dirs, None)?;
    let fd = open(
        Some(&dir),
        name.as_bytes(),
        OFlags::RDONLY | OFlags::NONBLOCK,
        0,
    )?;
    let file = std::fs::File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    file.take(max).read_to_string(&mut text)?;
    Ok(text)
}

/// Removes the file `root/relative` (a link itself, never its target);
/// a missing one is fine.
pub fn remove_below(root: &Path, relative: &Path) -> std::io::Result<()> {
    let parts = components(relative);
    let (name, dirs) = parts
        .split_last()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    // A missing directory, or one that is a link or not a directory, holds
    // no file of ours to remove (and nothing behind a link is touched).
    let Ok(dir) = walk(root, dirs, None) else {
        return Ok(());
    };
    no_nul(name.as_bytes())?;
    match rustix::fs::unlinkat(&dir, *name, AtFlags::empty()) {
        Err(e) if e != Errno::NOENT => Err(e.into()),
        _ => Ok(()),
    }
}

const DIRECTORY: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY);

fn no_nul(name: &[u8]) -> std::io::Result<()> {
    match name.contains(&0) {
        true => Err(std::io::Error::other("a NUL byte in a path")),
        false => Ok(()),
    }
}

/// `openat(dir or AT_FDCWD, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)`.
fn open(dir: Option<&OwnedFd>, name: &[u8], flags: OFlags, mode: u32) -> std::io::Result<OwnedFd> {
    no_nul(name)?;
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(mode);
    let opened = match dir {
        Some(dir) => rustix::fs::openat(dir, name, flags, mode),
        None => rustix::fs::openat(CWD, name, flags, mode),
    };
    opened.map_err(|e| match e {
        Errno::LOOP => std::io::Error::other("it is a symbolic link (planted?)"),
        e => e.into(),
    })
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
        // What is there already is not appended twice.
        append_no_follow(&fresh, b"a\nb\n").unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "a\nb\n");
    }

    #[test]
    fn walks_below_a_root_follow_no_link() {
        let d = tempfile::tempdir().unwrap();
        let (root, outside) = (d.path().join("wt"), d.path().join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join(".cargo")).unwrap();
        assert!(mkdirs_below(&root, Path::new(".cargo/registry"), 0o755).is_err());
        assert!(!outside.join("registry").exists());
        mkdirs_below(&root, Path::new(".cache/sccache"), 0o755).unwrap();
        assert!(root.join(".cache/sccache").is_dir());
        std::fs::write(outside.join("status"), "failed 42").unwrap();
        std::os::unix::fs::symlink(outside.join("status"), root.join(".cache/status")).unwrap();
        assert!(read_below(&root, Path::new(".cache/status"), 64).is_err());
        assert!(read_below(&root, Path::new(".cargo/status"), 64).is_err());
        std::fs::write(root.join(".cache/ok"), "ok\n".repeat(100)).unwrap();
        assert_eq!(
            read_below(&root, Path::new(".cache/ok"), 6).unwrap(),
            "ok\nok\n"
        );
    }
}
