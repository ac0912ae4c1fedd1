//! Files handed to an agent (`create --attach`, `clauderon upload`): copied
//! into `<home>/uploads/<session id>/`, which every docker and podman
//! session mounts read-only at `/workspace/.clauderon/uploads/<id>/` (the
//! worktree's `.clauderon/` is in git's exclude, so `git status` stays
//! clean). A session's uploads together are bounded by `[uploads] max_bytes`.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::session::SessionSpec;
use crate::store::Home;

/// What a session's uploads may add up to unless `[uploads] max_bytes` says.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// Below the worktree (`/workspace` in the container).
pub const WORKTREE_DIR: &str = ".clauderon/uploads";

/// `[uploads]` in config.toml.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadsSection {
    pub max_bytes: Option<u64>,
}

impl UploadsSection {
    pub fn max_bytes(&self) -> std::result::Result<u64, (String, String)> {
        match self.max_bytes {
            Some(0) => Err((
                "uploads.max_bytes".into(),
                "must be at least 1 (bytes)".into(),
            )),
            Some(n) => Ok(n),
            None => Ok(DEFAULT_MAX_BYTES),
        }
    }
}

/// Where a session's uploads are on the host.
pub fn host_dir(home: &Home, id: &str) -> PathBuf {
    home.root.join("uploads").join(id)
}

/// Where they are in the container.
pub fn container_dir(id: &str) -> String {
    format!("/workspace/{WORKTREE_DIR}/{id}")
}

/// One file to copy: where it is now, and its name in the uploads (the
/// plan's data, since a `CopyUploads` step carries it).
pub use crate::plan::UploadSource as Source;

/// One uploaded file, as `status` and `upload` show it.
#[derive(Clone, Debug, Serialize)]
pub struct Uploaded {
    pub name: String,
    /// Its path in the container, for the prompt.
    pub path: String,
    pub bytes: u64,
}

/// The files a session has been given, by name.
pub fn list(home: &Home, spec: &SessionSpec) -> Vec<Uploaded> {
    let Ok(entries) = std::fs::read_dir(host_dir(home, &spec.id)) else {
        return Vec::new();
    };
    let mut files: Vec<Uploaded> = entries
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok().filter(|m| m.is_file())?;
            let name = e.file_name().into_string().ok()?;
            Some(Uploaded {
                path: format!("{}/{name}", container_dir(&spec.id)),
                name,
                bytes: meta.len(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// Checks the files before anything is copied: each a regular file (a
/// link is followed to one), its name usable in a prompt and new in the
/// session, and all of them with what is there within `max_bytes`.
/// A file in a secret store (or a link to one) is refused as `--mount`
/// refuses it.
pub fn check(
    paths: &[PathBuf],
    existing: &[Uploaded],
    max_bytes: u64,
    secrets: &crate::mounts::Policy,
) -> Result<Vec<Source>> {
    let mut sources: Vec<Source> = Vec::new();
    let mut total: u64 = existing.iter().map(|u| u.bytes).sum();
    for path in paths {
        let (source, bytes) = check_one(path)?;
        crate::mounts::check_secret(&source.path, secrets)
            .map_err(|e| e.context(format!("cannot upload {}", shown_path(path))))?;
        if existing.iter().any(|u| u.name == source.name)
            || sources.iter().any(|s| s.name == source.name)
        {
            return Err(Error::input(format!(
                "{}: the session already has a file named {:?}",
                shown_path(path),
                source.name
            ))
            .with_fix("rename the file (uploads are never replaced)"));
        }
        total = total.saturating_add(bytes);
        sources.push(source);
    }
    if total > max_bytes {
        return Err(Error::input(format!(
            "the uploads would take {total} bytes, over the session's limit of {max_bytes} ([uploads] max_bytes); nothing was copied"
        ))
        .with_fix("upload fewer or smaller files, or raise [uploads] max_bytes in config.toml"));
    }
    Ok(sources)
}

fn shown_path(path: &Path) -> String {
    let s = path.display().to_string();
    match s.chars().any(char::is_control) {
        true => format!("{s:?}"),
        false => s,
    }
}

fn check_one(path: &Path) -> Result<(Source, u64)> {
    // Quoted only when it would not print as typed (a newline in a name
    // must not break the error line in two).
    let shown = shown_path(path);
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::input(format!("cannot upload {shown}: {e}"))
            .with_fix("name a file that exists and that you can read")
    })?;
    if !meta.is_file() {
        return Err(Error::input(format!(
            "{shown} is not a regular file (directories, devices and pipes cannot be uploaded)"
        ))
        .with_fix("upload the files themselves (an archive for a directory)"));
    }
    let name = path
        .file_name()
        .ok_or_else(|| Error::input(format!("{shown} names no file (it ends in `..` or `/`)")))?
        .to_str()
        .ok_or_else(|| Error::input(format!("{shown}: the file name is not UTF-8")))?;
    if name.chars().any(char::is_control) || name.starts_with('.') {
        return Err(Error::input(format!(
            "{shown}: the name {name:?} has a control character (a newline?) or starts with `.`"
        ))
        .with_fix("copy the file to a plain name first"));
    }
    let path = std::fs::canonicalize(path).map_err(|e| Error::io(&shown, e))?;
    let source = Source {
        path,
        name: name.to_string(),
    };
    Ok((source, meta.len()))
}

/// Copies the files into `dir`: first into a staging directory beside it,
/// then renamed in, so the agent never sees half a file and a failure
/// leaves nothing. Sizes are counted as read: a file that grew since the
/// check cannot push past `max_bytes`.
pub fn copy(sources: &[Source], dir: &Path, max_bytes: u64) -> Result<()> {
    let existing: u64 = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("could not read {}", dir.display()), e))?
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(dir.parent().unwrap_or(dir))
        .map_err(|e| Error::io("could not make a staging directory for the uploads", e))?;
    let mut budget = max_bytes.saturating_sub(existing);
    for s in sources {
        budget = copy_one(s, staging.path(), budget)?;
    }
    let mut moved = Vec::new();
    for s in sources {
        let target = dir.join(&s.name);
        // No replacing: a name taken since the check fails the upload.
        let taken = target.symlink_metadata().is_ok();
        let renamed = if taken {
            Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
        } else {
            std::fs::rename(staging.path().join(&s.name), &target)
        };
        if let Err(e) = renamed {
            for m in &moved {
                let _ = std::fs::remove_file(m);
            }
            return Err(Error::io(format!("could not add {}", target.display()), e));
        }
        moved.push(target);
    }
    Ok(())
}

/// One file into the staging directory; what is left of the budget.
fn copy_one(s: &Source, staging: &Path, budget: u64) -> Result<u64> {
    let fail = |e| Error::io(format!("could not upload {}", s.path.display()), e);
    // O_NONBLOCK: a file replaced by a pipe since the check does not hang us.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(crate::safe_fs::O_NONBLOCK)
        .open(&s.path)
        .map_err(fail)?;
    if !file.metadata().map_err(fail)?.is_file() {
        return Err(Error::input(format!(
            "{} is no longer a regular file",
            s.path.display()
        )));
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(crate::safe_fs::O_NOFOLLOW)
        .open(staging.join(&s.name))
        .map_err(fail)?;
    out.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(fail)?;
    let copied = std::io::copy(&mut file.take(budget.saturating_add(1)), &mut out).map_err(fail)?;
    if copied > budget {
        return Err(Error::input(format!(
            "{} grew past the session's upload limit ([uploads] max_bytes); nothing was copied",
            s.path.display()
        )));
    }
    out.flush().map_err(fail)?;
    Ok(budget - copied)
}

/// What `upload` and `create --attach` print: each file's path in the
/// container, for the prompt.
pub fn describe(id: &str, sources: &[Source]) -> Vec<String> {
    sources
        .iter()
        .map(|s| format!("{}/{}", container_dir(id), s.name))
        .collect()
}

/// What `create --attach` adds to the end of a prompt, so the agent knows
/// where the files are (the session's id, in the path, is made at create).
pub fn prompt_note(paths: &[String]) -> String {
    let mut note = String::from("\n\nFiles for this task (read-only):");
    for p in paths {
        note.push_str("\n- ");
        note.push_str(p);
    }
    note.push('\n');
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(home: &Path) -> crate::mounts::Policy {
        crate::mounts::Policy::new(&Default::default(), home, Path::new("/nonexistent/.git"))
    }

    fn check(paths: &[PathBuf], existing: &[Uploaded], max: u64) -> Result<Vec<Source>> {
        super::check(
            paths,
            existing,
            max,
            &policy(Path::new("/nonexistent/home")),
        )
    }

    #[test]
    fn files_in_the_clauderon_home_are_refused_through_links() {
        let home = tempfile::tempdir().unwrap();
        let token = home.path().join("api-token");
        std::fs::write(&token, "t").unwrap();
        let other = tempfile::tempdir().unwrap();
        let link = other.path().join("innocent.txt");
        std::os::unix::fs::symlink(&token, &link).unwrap();
        let e = super::check(&[link], &[], 100, &policy(home.path())).unwrap_err();
        assert!(e.message.contains("clauderon's home"), "{}", e.message);
    }

    #[test]
    fn sizes_names_and_kinds_are_checked_before_copying() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check(&[dir.path().join("..")], &[], 100).is_err());
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "12345").unwrap();
        assert_eq!(
            check(std::slice::from_ref(&a), &[], 5).unwrap()[0].name,
            "a.txt"
        );
        let e = check(std::slice::from_ref(&a), &[], 4).unwrap_err();
        assert!(e.message.contains("max_bytes"), "{}", e.message);
        assert!(check(&[a.clone(), a.clone()], &[], 100).is_err());
        assert!(check(&[dir.path().to_path_buf()], &[], 100).is_err());
        let nl = dir.path().join("x\ny");
        std::fs::write(&nl, "").unwrap();
        assert!(check(&[nl], &[], 100).is_err());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let s = check(&[link], &[], 100).unwrap();
        assert_eq!(
            (s[0].name.as_str(), s[0].path.clone()),
            ("link", a.canonicalize().unwrap())
        );
    }

    #[test]
    fn a_missing_file_is_bad_input_named_as_typed_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let e = check(&[dir.path().join("gone.txt")], &[], 100).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.starts_with("cannot upload "), "{}", e.message);
        assert!(!e.message.contains("--attach"), "{}", e.message);
        let nl = dir.path().join("x\ny");
        std::fs::write(&nl, "").unwrap();
        let e = check(&[nl], &[], 100).unwrap_err();
        assert!(!e.message.contains('\n'), "{}", e.message);
    }

    #[test]
    fn copy_is_all_or_nothing() {
        let src = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("id");
        std::fs::create_dir(&dir).unwrap();
        let (a, b) = (src.path().join("a"), src.path().join("b"));
        std::fs::write(&a, "aaaa").unwrap();
        std::fs::write(&b, "bbbb").unwrap();
        let sources = check(&[a, b], &[], 100).unwrap();
        assert!(copy(&sources, &dir, 6).is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        copy(&sources, &dir, 8).unwrap();
        assert_eq!(std::fs::read(dir.join("b")).unwrap(), b"bbbb");
        // Only the session's directory is left beside the staging one.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
