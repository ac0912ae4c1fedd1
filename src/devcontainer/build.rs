//! devcontainer.json's Dockerfile build: the image is tagged by a hash of
//! everything the build reads (the Dockerfile, its arguments and target,
//! the context's files), so it is built once and reused while they stay
//! the same. Its base images are checked against the allowlist first.

use std::path::Path;

use ring::digest::{Context, SHA256};

use super::fields::BuildSpec;
use crate::backend::oci::Engine;
use crate::error::{Error, Result};
use crate::plan::{Plan, Step};

/// The repository of every image clauderon builds from a devcontainer.json.
pub const IMAGE_REPOSITORY: &str = "clauderon-devcontainer";

/// The tag for this build's inputs.
pub fn tag(spec: &BuildSpec) -> Result<String> {
    let mut hash = Context::new(&SHA256);
    let dockerfile =
        std::fs::read(&spec.dockerfile).map_err(|e| Error::io(spec.dockerfile.display(), e))?;
    feed(&mut hash, b"dockerfile", &dockerfile);
    for (k, v) in &spec.args {
        feed(&mut hash, k.as_bytes(), v.as_bytes());
    }
    feed(
        &mut hash,
        b"target",
        spec.target.as_deref().unwrap_or("").as_bytes(),
    );
    hash_tree(&mut hash, &spec.context, Path::new(""))?;
    let digest = hash.finish();
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("{IMAGE_REPOSITORY}:{hex}"))
}

/// Length-prefixed, so no two inputs hash alike by running together.
fn feed(hash: &mut Context, name: &[u8], bytes: &[u8]) {
    hash.update(&(name.len() as u64).to_le_bytes());
    hash.update(name);
    hash.update(&(bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

/// Every file of the context, in name order, by path and content; links
/// by their target (the engine sends them as links). `.git` is left out.
fn hash_tree(hash: &mut Context, root: &Path, rel: &Path) -> Result<()> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(dir.display(), e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = rel.join(entry.file_name());
        if name == Path::new(".git") {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| Error::io(path.display(), e))?;
        let key = name.to_string_lossy();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| Error::io(path.display(), e))?;
            feed(hash, key.as_bytes(), target.to_string_lossy().as_bytes());
        } else if kind.is_dir() {
            hash_tree(hash, root, &name)?;
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
            feed(hash, key.as_bytes(), &bytes);
        }
    }
    Ok(())
}

/// The images a Dockerfile starts from (`FROM x [AS y]`), but the build's
/// own stages and `scratch`.
pub fn base_images(dockerfile: &str) -> Vec<String> {
    let mut stages = Vec::new();
    let mut images = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        {
            continue;
        }
        let image = words.iter().skip(1).find(|w| !w.starts_with("--")).copied();
        if let Some(image) = image
            && image != "scratch"
            && !stages.contains(&image.to_ascii_lowercase())
        {
            images.push(image.to_string());
        }
        if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
            stages.extend(words.get(i + 1).map(|s| s.to_ascii_lowercase()));
        }
    }
    images
}

/// The allowlist applies to what the build starts from.
pub fn check_bases(spec: &BuildSpec, allowed: &[String], source: &str) -> Result<()> {
    let text = std::fs::read_to_string(&spec.dockerfile)
        .map_err(|e| Error::io(spec.dockerfile.display(), e))?;
    for image in base_images(&text) {
        if image.contains('$') {
            if allowed.is_empty() {
                continue;
            }
            return Err(Error::input(format!(
                "{}: FROM {image} names its image through a build argument, so it cannot be checked against the allowed images",
                spec.dockerfile.display()
            ))
            .with_fix("write the base image out in the Dockerfile"));
        }
        crate::image::check_allowed(allowed, &image, source)
            .map_err(|e| e.context(format!("the base image of {}", spec.dockerfile.display())))?;
    }
    Ok(())
}

/// The build, unless an image with this tag is there already (a dry run
/// with no engine to ask shows the build).
pub fn add(plan: &mut Plan, engine: &Engine, spec: &BuildSpec, tag: &str) {
    match crate::image::image_id(engine, tag) {
        Ok(Some(_)) => plan.note(format!(
            "the devcontainer image {tag} is already built from these inputs: reused"
        )),
        _ => {
            plan.push(Step::run_cmd(
                engine.build_image(
                    tag,
                    &spec.dockerfile,
                    &spec.context,
                    &spec.args,
                    spec.target.as_deref(),
                ),
                engine.classifier(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_images_skip_stages_and_scratch() {
        let text =
            "FROM --platform=x rust:1 AS build\nRUN x\nfrom build\nFROM scratch\nFROM debian:12\n";
        assert_eq!(base_images(text), vec!["rust:1", "debian:12"]);
    }

    #[test]
    fn the_tag_follows_the_inputs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM a\n").unwrap();
        let spec = BuildSpec {
            dockerfile: dir.path().join("Dockerfile"),
            context: dir.path().to_path_buf(),
            args: vec![],
            target: None,
        };
        let first = tag(&spec).unwrap();
        assert_eq!(first, tag(&spec).unwrap());
        std::fs::write(dir.path().join("x"), "1").unwrap();
        assert_ne!(first, tag(&spec).unwrap());
        assert!(first.starts_with("clauderon-devcontainer:"));
    }
}
