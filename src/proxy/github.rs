//! The built-in GitHub rule, scoped to the session's own repository
//! (`[proxy.github] scope = "repo"`, the default): what the token may do on
//! github.com (git smart HTTP, LFS) and api.github.com (REST under
//! /repos/OWNER/REPO, a few user-level reads, GraphQL queries), and nothing
//! else. Writes that would move a ref other than the session's branch, or
//! change the repository itself, are refused on the REST side too.

use std::fmt;

use serde::Deserialize;

/// `OWNER/REPO` on github.com, compared without regard to case (as GitHub does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl RepoRef {
    /// `OWNER/REPO` as written in `[proxy.github] repos`.
    pub fn parse(text: &str) -> Option<RepoRef> {
        let (owner, name) = text.split_once('/')?;
        let name = name.strip_suffix(".git").unwrap_or(name);
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        (valid(owner) && valid(name)).then(|| RepoRef {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    /// The repository a remote URL names, if it is on github.com:
    /// `https://[user@]github.com/O/R[.git][/]`, `git@github.com:O/R[.git]`,
    /// `ssh://git@github.com[:22]/O/R[.git]`.
    pub fn from_remote(url: &str) -> Option<RepoRef> {
        let url = url.trim();
        let rest = if let Some(scp) = url.strip_prefix("git@github.com:") {
            scp
        } else {
            let (_, after_scheme) = url.split_once("://")?;
            let (authority, path) = after_scheme.split_once('/')?;
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = host.split(':').next()?.to_ascii_lowercase();
            if host != "github.com" && host != "www.github.com" {
                return None;
            }
            path
        };
        RepoRef::parse(rest.trim_end_matches('/'))
    }

    fn is(&self, owner: &str, name: &str) -> bool {
        let name = name.strip_suffix(".git").unwrap_or(name);
        self.owner.eq_ignore_ascii_case(owner) && self.name.eq_ignore_ascii_case(name)
    }
}

/// `[proxy.github]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSection {
    scope: Option<String>,
    #[serde(default)]
    repos: Vec<String>,
}

/// What the GitHub credential opens, from `[proxy.github]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GithubScope {
    /// `scope = "account"`: anything the token can do (the old behaviour).
    pub account: bool,
    /// `repos = [...]`: repositories opened to every session besides its own.
    pub extra_repos: Vec<RepoRef>,
}

impl GithubSection {
    pub fn scope(self) -> Result<GithubScope, (String, String)> {
        let account = match self.scope.as_deref() {
            None | Some("repo") => false,
            Some("account") => true,
            Some(other) => {
                return Err((
                    "proxy.github.scope".into(),
                    format!(
                        "{other:?} is not a scope: use \"repo\" (the session's repository) or \"account\""
                    ),
                ));
            }
        };
        let extra_repos = self
            .repos
            .iter()
            .map(|r| {
                RepoRef::parse(r).ok_or_else(|| {
                    let why = format!("{r:?} is not OWNER/REPO");
                    ("proxy.github.repos".to_string(), why)
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(GithubScope {
            account,
            extra_repos,
        })
    }
}

/// What a session's GitHub credential opens, for `status`.
pub fn describe(scope: &GithubScope, remote_url: Option<&str>, branch: &str) -> String {
    if scope.account {
        return "GitHub credential: the whole account, any repository ([proxy.github] scope = \"account\")".into();
    }
    let repos: Vec<String> = remote_url
        .and_then(RepoRef::from_remote)
        .into_iter()
        .chain(scope.extra_repos.iter().cloned())
        .map(|r| r.to_string())
        .collect();
    if repos.is_empty() {
        return "GitHub credential: no repository (no github.com remote at create; add one to [proxy.github] repos) ([proxy.github] scope = \"repo\")".into();
    }
    format!(
        "GitHub credential: {}; pushes only to refs/heads/{branch} and refs/heads/{branch}/... ([proxy.github] scope = \"repo\")",
        repos.join(", ")
    )
}

/// What a request with the GitHub credential may do, beyond its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// A push: its ref updates must name the session's branches.
    ReceivePack,
    /// GraphQL: its body must hold no mutation or subscription.
    GraphqlQuery,
    Refuse(String),
}

/// The user-level reads the agent CLIs make (`gh auth status`, `gh api
/// user`, rate limits, the API's own metadata).
pub const USER_READS: &[&str] = &["/", "/user", "/rate_limit", "/meta"];

/// A request to github.com (`git == true`) or api.github.com carrying the
/// GitHub placeholder, for a session whose repositories are `repos`.
pub fn decide(git: bool, method: &str, path: &str, repos: &[RepoRef]) -> Verdict {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if git {
        return decide_git(method, &segs, repos);
    }
    if method == "GET" && USER_READS.contains(&path) {
        return Verdict::Allow;
    }
    if path == "/graphql" && method == "POST" {
        return Verdict::GraphqlQuery;
    }
    match segs.as_slice() {
        ["repos", owner, name, rest @ ..] if repos.iter().any(|r| r.is(owner, name)) => {
            decide_repo_api(method, rest)
        }
        _ => Verdict::Refuse(format!(
            "{method} {path} is outside the session's repositories"
        )),
    }
}

fn decide_git(method: &str, segs: &[&str], repos: &[RepoRef]) -> Verdict {
    let ([owner, name, rest @ ..], true) = (segs, !segs.is_empty()) else {
        return Verdict::Refuse("not a git path".into());
    };
    if !repos.iter().any(|r| r.is(owner, name)) {
        return Verdict::Refuse(format!("{owner}/{name} is not the session's repository"));
    }
    match (method, rest) {
        ("GET", ["info", "refs"]) | ("POST", ["git-upload-pack"]) => Verdict::Allow,
        ("POST", ["git-receive-pack"]) => Verdict::ReceivePack,
        (_, ["info", "lfs", ..]) => Verdict::Allow,
        _ => Verdict::Refuse(format!(
            "{method} /{} is not git smart HTTP",
            segs.join("/")
        )),
    }
}

/// Under /repos/OWNER/REPO: reads, and writes that touch neither other
/// refs nor the repository's settings, keys, hooks or secrets.
fn decide_repo_api(method: &str, rest: &[&str]) -> Verdict {
    if method == "GET" || method == "HEAD" {
        return Verdict::Allow;
    }
    let refused = match rest {
        [] => Some("changing or deleting the repository"),
        ["forks"] => Some("forking (it creates a repository)"),
        ["git", "refs", ..] => {
            Some("moving refs through the API (push to the session's branch instead)")
        }
        ["contents", ..] => Some("committing through the contents API (it writes to any branch)"),
        ["merges"] | ["pulls", _, "merge"] => Some("merging"),
        ["transfer"] | ["collaborators", ..] | ["keys", ..] | ["hooks", ..] => {
            Some("changing who or what can reach the repository")
        }
        ["actions", ..] | ["dispatches"] | ["environments", ..] => {
            Some("running workflows or changing their secrets")
        }
        ["branches", ..] | ["rulesets", ..] | ["releases", ..] | ["tags", ..] => {
            Some("changing branches, protections, tags or releases")
        }
        _ => None,
    };
    match refused {
        Some(what) => Verdict::Refuse(format!("{what} is not allowed to a session")),
        None => Verdict::Allow,
    }
}

/// Does a GraphQL request body hold only queries? Strings and comments are
/// skipped; the words `mutation` and `subscription` anywhere else refuse it
/// (a field of that name too: refusing is the safe side).
pub fn graphql_is_query(body: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the GraphQL body is not JSON".to_string())?;
    let docs: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(batch) => batch.iter().collect(),
        one => vec![one],
    };
    for doc in docs {
        let Some(query) = doc.get("query").and_then(|q| q.as_str()) else {
            return Err("the GraphQL body has no query".into());
        };
        if graphql_words(query).any(|w| w == "mutation" || w == "subscription") {
            return Err("GraphQL mutations are not allowed to a session".into());
        }
    }
    Ok(())
}

/// The names in a GraphQL document outside strings (`"..."` and block
/// strings `"""..."""`) and comments.
fn graphql_words(doc: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = doc.chars().collect();
    let (mut out, mut word, mut i) = (Vec::new(), String::new(), 0);
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            i += 1;
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        i = match c {
            '#' => skip_until(&chars, i + 1, &['\n']),
            '"' if chars[i..].starts_with(&['"', '"', '"']) => {
                skip_until(&chars, i + 3, &['"', '"', '"'])
            }
            '"' => skip_until(&chars, i + 1, &['"']),
            _ => i + 1,
        };
    }
    if !word.is_empty() {
        out.push(word);
    }
    out.into_iter()
}

/// The index after the first `end` at or after `from` that no backslash
/// escapes (the end of the text if there is none).
fn skip_until(chars: &[char], mut from: usize, end: &[char]) -> usize {
    while from < chars.len() {
        if chars[from] == '\\' {
            from += 2;
            continue;
        }
        if chars[from..].starts_with(end) {
            return from + end.len();
        }
        from += 1;
    }
    chars.len()
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod tests;
