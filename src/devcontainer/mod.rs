//! A repository's `devcontainer.json`, read at `create` and turned into
//! what `create` already takes: an image (or a build), a compose file and
//! service, lifecycle commands, environment, mounts and limits. Everything
//! then goes through the same checks as flags do (allowlist, image checks,
//! `--mount`'s rules, hardened defaults). Nothing in the file runs on the host.

pub mod build;
pub mod fields;
pub mod parse;
mod run_args;

use crate::cli::CreateArgs;
use crate::config::Ctx;
use crate::error::{Error, Result};
use fields::{Base, BuildSpec, Settings};

// The spec's part: what a session records of its devcontainer.json.
pub use crate::spec::devcontainer::Record;

/// The file found and applied: its record, and the build to add to the plan.
pub struct Applied {
    pub record: Record,
    pub build: Option<(BuildSpec, String)>,
}

/// Where a flag says to use no devcontainer.json, or the backend cannot.
fn skipped(ctx: &Ctx, args: &CreateArgs) -> Result<bool> {
    let other = if args.image.is_some() {
        Some("--image")
    } else if !args.compose.is_empty() || ctx.config.compose.file.is_some() {
        Some("--compose")
    } else {
        None
    };
    match (other, &args.devcontainer) {
        (Some(flag), Some(_)) => Err(Error::input(format!(
            "--devcontainer and {flag} do not go together: each says what the container is"
        ))
        .with_fix("drop one of them")),
        (Some(_), None) => Ok(true),
        (None, _) => Ok(args.no_devcontainer),
    }
}

/// Finds the repository's devcontainer.json (unless `--image`,
/// `--compose` or `--no-devcontainer` says otherwise) and applies it to
/// `args`. Refuses, before anything is made, what it cannot honour safely.
pub fn apply(ctx: &Ctx, args: &mut CreateArgs) -> Result<Option<Applied>> {
    if skipped(ctx, args)? {
        return Ok(None);
    }
    let repo_dir = std::path::absolute(&args.repo)
        .map_err(|e| Error::io(format!("--repo {}", args.repo.display()), e))?;
    let repo = crate::git::resolve_repo(&repo_dir)?;
    let Some(rel) = parse::locate(&repo.root, args.devcontainer.as_deref())? else {
        note_unpicked(&repo.root);
        return Ok(None);
    };
    if args.backend == crate::session::BackendKind::Kubernetes {
        eprintln!(
            "clauderon: note: {} is not used for kubernetes sessions (a pod cannot build or mount from this machine); pass --image",
            rel.display()
        );
        return Ok(None);
    }
    let json = parse::read(&repo.root, &rel).map_err(|e| with_file(e, &rel))?;
    let real = parse::inside(&repo.root, &rel)?;
    let dir = real.parent().unwrap_or(&repo.root).to_path_buf();
    let base = Base {
        repo_root: &repo.root,
        dir: &dir,
    };
    let settings = fields::read(&json, &base).map_err(|e| with_file(e, &rel))?;
    let policy = crate::mounts::Policy::for_create(
        &ctx.config.mounts,
        &ctx.config.api_volume_roots,
        &ctx.home.root,
        &repo.common_dir,
    );
    for m in &settings.mounts {
        crate::mounts::parse(m, &policy).map_err(|e| with_file(e, &rel))?;
    }
    for note in &settings.notes {
        eprintln!("clauderon: note: {note}");
    }
    let build = image(ctx, args, &settings, &rel)?;
    let record = Record {
        file: rel.clone(),
        built_image: build.as_ref().map(|(_, tag)| tag.clone()),
        left_out: settings.notes.clone(),
    };
    onto_args(args, settings);
    Ok(Some(Applied { record, build }))
}

/// Files only `--devcontainer NAME` picks are said, not silently unused.
fn note_unpicked(root: &std::path::Path) {
    let names = parse::names(root);
    if let Some(first) = names.first() {
        eprintln!(
            "clauderon: note: .devcontainer/ holds devcontainer.json files for {} but none is used without --devcontainer NAME (e.g. --devcontainer {first}); using the default image",
            names.join(", ")
        );
    }
}

/// The file named in the message (or the fix), and a fix where the
/// check had none: every refusal says how to get past it.
fn with_file(e: Error, rel: &std::path::Path) -> Error {
    let shown = rel.display().to_string();
    let e = if e.message.starts_with("devcontainer.json") || e.message.starts_with(&shown) {
        e
    } else {
        e.context(&shown)
    };
    match e.fix {
        Some(_) => e,
        None => {
            let fix = format!("fix it in {shown}, or pass --no-devcontainer");
            e.with_fix(fix)
        }
    }
}

/// The image (checked as `--image` would be) or the build's tag, whose
/// base images are checked instead.
fn image(
    ctx: &Ctx,
    args: &mut CreateArgs,
    s: &Settings,
    rel: &std::path::Path,
) -> Result<Option<(BuildSpec, String)>> {
    let origin = format!("image in {}", rel.display());
    if let Some(image) = &s.image {
        crate::validate::image_option(image, &format!("from {}", rel.display()))?;
        args.image = Some(image.clone());
        args.image_origin = Some(crate::cli::ImageOrigin {
            source: origin,
            built: false,
        });
        return Ok(None);
    }
    let Some(spec) = &s.build else {
        return Ok(None);
    };
    let allowed = &ctx.config.allowed_images;
    build::check_bases(spec, &allowed.value, &allowed.source.to_string())?;
    let tag = build::tag(spec)?;
    args.image = Some(tag.clone());
    args.image_origin = Some(crate::cli::ImageOrigin {
        source: format!("a build of {}", rel.display()),
        built: true,
    });
    // Built here, never pulled.
    args.pull_policy
        .get_or_insert(crate::session::PullPolicy::Never);
    Ok(Some((spec.clone(), tag)))
}

/// The file's settings, before the flags' own (which come after, and win
/// where the engine takes the last value).
fn onto_args(args: &mut CreateArgs, s: Settings) {
    if !s.compose_files.is_empty() {
        args.compose = s.compose_files;
        args.service = args.service.take().or(s.service);
    }
    let before = |from: Vec<String>, to: &mut Vec<String>| {
        let mine = std::mem::take(to);
        *to = from.into_iter().chain(mine).collect();
    };
    before(s.on_create, &mut args.on_create);
    before(s.post_start, &mut args.post_start);
    before(
        s.env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
        &mut args.env,
    );
    before(s.mounts, &mut args.mount);
    if args.cpu_limit.is_none() {
        args.cpu_limit = s.cpus;
    }
    if args.memory_limit.is_none() {
        args.memory_limit = s.memory;
    }
}
