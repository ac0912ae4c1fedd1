//! Where a credential may be used on its host: the request's path in one
//! normal form, glob patterns matched on it, and the methods a rule names.
//!
//! A path is matched only once it is unambiguous: percent-encodings of
//! ordinary characters are decoded (`%2e` is `.`), and a path that a server
//! could read as another one is refused outright rather than guessed at:
//! `.` and `..` segments, empty segments (`//`), an encoded `/`, `\` or `%`,
//! control characters and bytes that are not UTF-8.

use serde::Deserialize;

/// The decoded path a rule's globs are matched on, or why it is refused.
pub fn normalize_path(raw: &str) -> Result<String, String> {
    if !raw.starts_with('/') {
        return Err(format!("the path {raw:?} does not start with /"));
    }
    let decoded = percent_decode(raw)?;
    let segments: Vec<&str> = decoded[1..].split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() && i != last {
            return Err("the path has an empty segment (//)".into());
        }
        if *seg == "." || *seg == ".." {
            return Err("the path has a . or .. segment".into());
        }
    }
    Ok(decoded)
}

/// `%XX` decoded; refused if it encodes a separator, a `%` (double
/// encoding) or a control character, or if the result is not UTF-8.
fn percent_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                return Err("the path has a malformed %-encoding".into());
            };
            if matches!(v, b'/' | b'\\' | b'%') {
                return Err(format!("the path encodes {:?} (%{:02X})", v as char, v));
            }
            out.push(v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(out).map_err(|_| "the path is not UTF-8".to_string())?;
    if text.chars().any(|c| c.is_control() || c == '\\') {
        return Err("the path has a control character or a backslash".into());
    }
    Ok(text)
}

/// Does `path` (normalised, starting with `/`) match `pattern`? Patterns
/// are `/`-separated: `**` is any number of segments (none included), and
/// in a segment `*` is any run of characters and `?` one character.
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // can[i][j]: pat[i..] matches segs[j..]; filled from the end, so a
    // pattern with many `**` costs pattern x path steps, never more.
    let mut can = vec![vec![false; segs.len() + 1]; pat.len() + 1];
    can[pat.len()][segs.len()] = true;
    for i in (0..pat.len()).rev() {
        for j in (0..=segs.len()).rev() {
            can[i][j] = if pat[i] == "**" {
                can[i + 1][j] || (j < segs.len() && can[i][j + 1])
            } else {
                j < segs.len() && segment_matches(pat[i], segs[j]) && can[i + 1][j + 1]
            };
        }
    }
    can[0][0]
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == segment;
    }
    wildmatch::WildMatch::new(pattern).matches(segment)
}

/// `paths` and `methods` of a `[[proxy.rules]]` rule: empty means any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Bounds {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
}

impl Bounds {
    /// Patterns start with `/` and have no `.`/`..` segments; methods are
    /// tokens, kept upper-case.
    pub fn validated(self) -> Result<Bounds, String> {
        for p in &self.paths {
            let plain = p.replace("**", "x").replace(['*', '?'], "x");
            if !p.starts_with('/') || p.len() > 512 || normalize_path(&plain).is_err() {
                return Err(format!(
                    "path pattern {p:?}: start it with / and use no ., .., // or %-encoded separators (up to 512 characters)"
                ));
            }
        }
        let mut methods = Vec::new();
        for m in self.methods {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!(
                    "method {m:?} is not an HTTP method like GET or POST"
                ));
            }
            methods.push(m.to_ascii_uppercase());
        }
        Ok(Bounds {
            paths: self.paths,
            methods,
        })
    }

    pub fn is_any(&self) -> bool {
        self.paths.is_empty() && self.methods.is_empty()
    }

    /// Why the request is outside the bounds, if it is.
    pub fn check(&self, method: &str, raw_path: &str) -> Result<(), String> {
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m == method) {
            return Err(format!("{method} is not in its methods {:?}", self.methods));
        }
        if self.paths.is_empty() {
            return Ok(());
        }
        let path = normalize_path(raw_path)?;
        if self.paths.iter().any(|p| glob_matches(p, &path)) {
            return Ok(());
        }
        Err(format!("{path} is not in its paths {:?}", self.paths))
    }
}

#[cfg(test)]
#[path = "scope_tests.rs"]
mod tests;
