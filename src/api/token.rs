//! The API's bearer token: `$CLAUDERON_HOME/api-token`, mode 0600, made on
//! first use; `clauderon api token --rotate` replaces it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::store::Home;

pub fn path(home: &Home) -> PathBuf {
    home.root.join("api-token")
}

/// The token, made now if there is none.
pub fn load_or_create(home: &Home) -> Result<String> {
    match std::fs::read_to_string(path(home)) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        Ok(_) => rotate(home),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => rotate(home),
        Err(e) => Err(Error::io(
            format!("could not read {}", path(home).display()),
            e,
        )),
    }
}

/// A new token replaces the old one (which stops working once the daemon
/// reads the new one: at its next request).
pub fn rotate(home: &Home) -> Result<String> {
    home.ensure()
        .map_err(|e| Error::io(format!("could not create {}", home.root.display()), e))?;
    let token = crate::session::new_token();
    let file = path(home);
    let tmp = home.root.join(".api-token.tmp");
    let _ = std::fs::remove_file(&tmp);
    let fail = |e| Error::io(format!("could not write {}", file.display()), e);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    f.write_all(format!("{token}\n").as_bytes()).map_err(fail)?;
    std::fs::rename(&tmp, &file).map_err(fail)?;
    Ok(token)
}
