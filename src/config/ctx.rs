//! What every command starts from: this home and its config.

use super::Config;
use crate::error::Result;
use crate::store::Home;

/// This home and its config.
pub struct Ctx {
    pub home: Home,
    pub config: Config,
}

impl Ctx {
    pub fn load() -> Result<Ctx> {
        let home = Home::from_env()?;
        let config = Config::load(&home.root)?;
        Ok(Ctx { home, config })
    }

    /// For commands that only take things down (stop, delete, daemon stop):
    /// a broken config.toml is a warning, not a reason to leave a session
    /// running.
    pub fn load_lenient() -> Result<Ctx> {
        let home = Home::from_env()?;
        let config = Config::load(&home.root).unwrap_or_else(|e| {
            eprintln!("clauderon: warning: {e}; this command goes on with the built-in defaults");
            Config::defaults(&home.root)
        });
        Ok(Ctx { home, config })
    }
}
