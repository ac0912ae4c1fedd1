//! Removing a session's worktree without running git. The worktree and the
//! shared `.git` are the agent's to write, so a hostile repository could
//! make any git command run its programs on the host; deleting a session
//! must still work. A linked worktree is two things: its directory, and its
//! registration `<common>/worktrees/<id>/` (whose `gitdir` file points back
//! at `<worktree>/.git`). Both go, following no link.

use std::path::{Path, PathBuf};

use crate::plan::Step;

/// The steps that remove `worktree` and git's registration of it.
pub fn removal(common_dir: Option<&Path>, worktree: &Path) -> Vec<Step> {
    let mut steps = vec![Step::RemoveDir {
        path: worktree.to_path_buf(),
    }];
    if let Some(common) = common_dir {
        steps.push(Step::ForgetWorktree {
            common_dir: common.to_path_buf(),
            worktree: worktree.to_path_buf(),
        });
    }
    steps
}

/// `<common>/worktrees/<id>` whose `gitdir` names `<worktree>/.git`: real
/// directories only (a planted link is never followed nor chosen).
pub fn registration(common_dir: &Path, worktree: &Path) -> Option<PathBuf> {
    let dir = common_dir.join("worktrees");
    if !std::fs::symlink_metadata(&dir).ok()?.is_dir() {
        return None;
    }
    let wanted = worktree.join(".git");
    std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let gitdir = path.join("gitdir");
        let is_file = std::fs::symlink_metadata(&gitdir).ok()?.is_file();
        let points_here = std::fs::read_to_string(&gitdir)
            .ok()
            .is_some_and(|text| Path::new(text.trim()) == wanted);
        (meta.is_dir() && is_file && points_here).then_some(path)
    })
}

/// Removes the registration, if there is one.
pub fn forget(common_dir: &Path, worktree: &Path) -> std::io::Result<()> {
    match registration(common_dir, worktree) {
        Some(path) => std::fs::remove_dir_all(path),
        None => Ok(()),
    }
}

/// The main repository's `.git` of a worktree directory, read from its
/// `.git` file (`gitdir: <common>/worktrees/<id>`), without running git.
pub fn common_dir_of(worktree: &Path) -> Option<PathBuf> {
    let file = worktree.join(".git");
    if !std::fs::symlink_metadata(&file).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let gitdir = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
    let parent = gitdir.parent()?;
    (parent.file_name()? == "worktrees").then(|| parent.parent().map(Path::to_path_buf))?
}

/// Files in `<common>/hooks` that git itself would run (not the samples):
/// clauderon never runs them (`core.hooksPath=/dev/null`), but the user's
/// own git would, so they are reported.
pub fn hooks_in(common_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(common_dir.join("hooks")) else {
        return Vec::new();
    };
    let mut hooks: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.to_string_lossy().ends_with(".sample"))
        .collect();
    hooks.sort();
    hooks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_found_by_their_gitdir_and_links_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let common = d.path().join("repo/.git");
        let wt = d.path().join("wt/s1");
        let reg = common.join("worktrees/s1");
        std::fs::create_dir_all(&reg).unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(
            reg.join("gitdir"),
            format!("{}\n", wt.join(".git").display()),
        )
        .unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", reg.display())).unwrap();
        // A planted link whose gitdir also points here must not be chosen.
        let victim = d.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(
            victim.join("gitdir"),
            format!("{}\n", wt.join(".git").display()),
        )
        .unwrap();
        std::os::unix::fs::symlink(&victim, common.join("worktrees/a-link")).unwrap();
        assert_eq!(common_dir_of(&wt).unwrap(), common);
        assert_eq!(registration(&common, &wt).unwrap(), reg);
        forget(&common, &wt).unwrap();
        assert!(!reg.exists() && victim.join("gitdir").exists());
        forget(&common, &wt).unwrap();
    }
}
