//! Text a command takes from a file or from stdin (`-`): `create
//! --prompt-file`, `send --file` and `send -`. One limit and one set of
//! refusals for both.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The most such a text may be (agents' own prompt limits are far below).
pub const MAX_BYTES: u64 = 1 << 20;

/// `from` read whole (`-`: stdin), as UTF-8 text of at most 1 MiB. `what`
/// names the text in errors ("the message", "the prompt").
pub fn read(from: &Path, what: &str) -> Result<String> {
    let mut bytes = Vec::new();
    let read = if from == Path::new("-") {
        std::io::stdin().take(MAX_BYTES + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(from).and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
    };
    let shown = match from == Path::new("-") {
        true => "stdin".to_string(),
        false => from.display().to_string(),
    };
    read.map_err(|e| {
        Error::input(format!("could not read {what} from {shown}: {e}"))
            .with_fix("give a readable file, or - for standard input")
    })?;
    of_bytes(bytes, what)
}

/// `bytes` as the text, or why not: too large, or not UTF-8.
pub fn of_bytes(bytes: Vec<u8>, what: &str) -> Result<String> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Error::input(format!("{what} is larger than 1 MiB"))
            .with_fix("shorten it, or put the material in a file in the worktree and name it"));
    }
    String::from_utf8(bytes).map_err(|_| Error::input(format!("{what} is not UTF-8 text")))
}
