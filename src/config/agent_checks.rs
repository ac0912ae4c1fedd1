//! Checks of the `[agent]` section that need more than its types.

use super::Config;
use crate::error::{Error, Result};

impl Config {
    /// `cli_image` is the repository alone, its tag `cli_image_tag`: a tag
    /// written into `cli_image` would otherwise be refused as
    /// `NAME:TAG:latest`, naming a `:latest` the user never wrote.
    pub(super) fn check_cli_image_tags(&self) -> Result<()> {
        let a = &self.agent;
        for (key, repo) in [
            ("cli_image", &a.cli_image),
            ("codex_cli_image", &a.codex_cli_image),
        ] {
            let last = repo.rsplit('/').next().unwrap_or(repo);
            let Some((name, tag)) = last.split_once(':') else {
                continue;
            };
            let repository = format!("{}{name}", &repo[..repo.len() - last.len()]);
            return Err(Error::input(format!(
                "{}: `agent.{key}` = {repo:?} has a tag: the tag goes in `agent.{key}_tag`",
                self.path.display()
            ))
            .with_fix(format!(
                "write {key} = {repository:?} and {key}_tag = {tag:?} in {}",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// An http(s) URL with a host, nothing else (it lands in Codex's config).
    pub(super) fn check_codex_base_url(&self) -> Result<()> {
        let Some(url) = &self.agent.codex_base_url else {
            return Ok(());
        };
        let uri: Option<http::Uri> = url.parse().ok();
        let ok = uri.is_some_and(|u| {
            matches!(u.scheme_str(), Some("https" | "http"))
                && u.host().is_some_and(|h| !h.is_empty())
        });
        if ok {
            return Ok(());
        }
        Err(Error::input(format!(
            "{}: `agent.codex_base_url`: {url:?} is not an http(s) URL",
            self.path.display()
        ))
        .with_fix("set it to the Responses API's base, e.g. \"https://llm.example.com/v1\""))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn a_tag_in_cli_image_is_refused_with_the_split_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[agent]\ncli_image = \"localhost:5000/team/cli:r9\"\n";
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        let e = Config::load(dir.path()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(!e.message.contains(":latest"), "{}", e.message);
        let fix = e.fix.unwrap();
        assert!(
            fix.contains(r#"cli_image = "localhost:5000/team/cli" and cli_image_tag = "r9""#),
            "{fix}"
        );
        let text = "[agent]\ncli_image = \"localhost:5000/team/cli\"\n";
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        assert!(Config::load(dir.path()).is_ok());
    }
}
