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

/// The token, made now if there is none (made exclusively: of two
/// processes making it at once, both end up with the one in the file).
pub fn load_or_create(home: &Home) -> Result<String> {
    let file = path(home);
    if let Some(token) = read(&file)? {
        return Ok(token);
    }
    home.ensure()
        .map_err(|e| Error::io(format!("could not create {}", home.root.display()), e))?;
    let token = crate::session::new_token();
    match write_new(&file, &token) {
        Ok(()) => Ok(token),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(&file)?.ok_or_else(|| Error::failed(format!("{} is empty", file.display())))
        }
        Err(e) => Err(Error::io(format!("could not write {}", file.display()), e)),
    }
}

fn read(file: &std::path::Path) -> Result<Option<String>> {
    match std::fs::read_to_string(file) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_string())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("could not read {}", file.display()), e)),
    }
}

fn write_new(file: &std::path::Path, token: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(format!("{token}\n").as_bytes())
}

/// A new token replaces the old one (which stops working at the daemon's
/// next request). Written beside it under a name of its own, then renamed.
pub fn rotate(home: &Home) -> Result<String> {
    home.ensure()
        .map_err(|e| Error::io(format!("could not create {}", home.root.display()), e))?;
    let token = crate::session::new_token();
    let file = path(home);
    let tmp = home
        .root
        .join(format!(".api-token.{}", crate::session::random_suffix(12)));
    let fail = |e| Error::io(format!("could not write {}", file.display()), e);
    write_new(&tmp, &token).map_err(fail)?;
    std::fs::rename(&tmp, &file).map_err(fail)?;
    Ok(token)
}
