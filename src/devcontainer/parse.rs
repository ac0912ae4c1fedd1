//! Finding and reading a repository's `devcontainer.json`: where the spec
//! looks for it, read without leaving the repository (a link that points
//! outside is refused), bounded in size, and parsed as JSON with comments.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A devcontainer.json larger than this is refused (real ones are a few KiB).
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The file, relative to the repository's top level: `--devcontainer NAME`
/// picks `.devcontainer/NAME/devcontainer.json`, else the first of the two
/// places the spec names that exists.
pub fn locate(root: &Path, name: Option<&str>) -> Result<Option<PathBuf>> {
    if let Some(name) = name {
        check_name(name)?;
        let rel = PathBuf::from(".devcontainer")
            .join(name)
            .join("devcontainer.json");
        if !root.join(&rel).exists() {
            return Err(Error::not_found(format!(
                "--devcontainer {name}: {} does not exist in {}",
                rel.display(),
                root.display()
            ))
            .with_fix("name a directory under .devcontainer/ that holds a devcontainer.json"));
        }
        return Ok(Some(rel));
    }
    Ok([".devcontainer/devcontainer.json", ".devcontainer.json"]
        .into_iter()
        .map(PathBuf::from)
        .find(|rel| root.join(rel).symlink_metadata().is_ok()))
}

/// The names `--devcontainer` can pick: the directories under
/// `.devcontainer/` that hold a devcontainer.json, in name order.
pub fn names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(".devcontainer"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("devcontainer.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| check_name(n).is_ok())
        .collect();
    names.sort();
    names
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        return Ok(());
    }
    Err(Error::input(format!(
        "--devcontainer {name:?}: not a directory name under .devcontainer/"
    ))
    .with_fix("pass the name of one directory, e.g. --devcontainer python"))
}

/// The file's path with links resolved; it must stay inside the repository.
pub fn inside(root: &Path, rel: &Path) -> Result<PathBuf> {
    let shown = rel.display();
    let real_root = std::fs::canonicalize(root).map_err(|e| Error::io(root.display(), e))?;
    let real = std::fs::canonicalize(root.join(rel)).map_err(|e| {
        Error::input(format!("{shown} cannot be read: {e}"))
            .with_fix("fix the link, or pass --no-devcontainer")
    })?;
    if !real.starts_with(&real_root) {
        return Err(Error::input(format!(
            "{shown} is a link to {}, outside the repository: a repository's devcontainer.json is read only from the repository",
            real.display()
        ))
        .with_fix("replace the link by the file itself, or pass --no-devcontainer"));
    }
    Ok(real)
}

/// Reads the file (at most `MAX_BYTES`) and parses it as JSONC: comments
/// and trailing commas, as the devcontainer spec allows; nothing looser.
pub fn read(root: &Path, rel: &Path) -> Result<serde_json::Value> {
    let path = inside(root, rel)?;
    let shown = rel.display();
    // Checked before opening too: opening a FIFO would wait for a writer.
    let regular = |m: std::fs::Metadata| m.is_file();
    if !std::fs::metadata(&path).is_ok_and(regular) {
        return Err(not_regular(&shown));
    }
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&shown, e))?;
    if !file.metadata().is_ok_and(regular) {
        return Err(not_regular(&shown));
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&shown, e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Error::input(format!(
            "{shown} is larger than {} KiB: that is not a devcontainer.json clauderon reads",
            MAX_BYTES / 1024
        ))
        .with_fix("shrink it, or pass --no-devcontainer (or --image)"));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| Error::input(format!("{shown} is not UTF-8 text")))?;
    // Editors on Windows write a byte-order mark; JSON parsers skip it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    parse(text).map_err(|why| {
        Error::input(format!("{shown} is not valid JSON with comments: {why}"))
            .with_fix("fix the file at the line shown, or pass --no-devcontainer")
    })
}

fn not_regular(shown: &std::path::Display) -> Error {
    Error::input(format!("{shown} is not a regular file"))
        .with_fix("make it a file, or pass --no-devcontainer")
}

/// JSONC as the spec reads it. jsonc-parser is dprint's parser, the one
/// Deno uses; its errors name the line and column.
pub fn parse(text: &str) -> std::result::Result<serde_json::Value, String> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_extended_string_escapes: false,
        allow_non_finite_numbers: false,
    };
    let value: Option<serde_json::Value> =
        jsonc_parser::parse_to_serde_value(text, &options).map_err(|e| e.to_string())?;
    match value {
        Some(v @ serde_json::Value::Object(_)) => Ok(v),
        Some(_) => Err("the top level must be an object { ... }".into()),
        None => Err("the file is empty".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_trailing_commas_are_jsonc() {
        let v = parse("// c\n{ /* x */ \"image\": \"a\", \"b\": [1,2,], }").unwrap();
        assert_eq!(v["image"], "a");
    }

    #[test]
    fn broken_json_names_where() {
        let err = parse("{ \"image\": }").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        assert!(parse("[1]").is_err());
        assert!(parse("").is_err());
        assert!(parse("{ 'a': 1 }").is_err());
    }

    #[test]
    fn names_stay_under_devcontainer() {
        for bad in ["..", "../x", "a/b", "-x", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("python-3.12").is_ok());
    }
}
