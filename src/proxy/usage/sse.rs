//! Server-sent events split out of a byte stream as it passes, in bounded
//! memory: a line or an event past `MAX_EVENT_BYTES` is not kept, only
//! counted as unparsed once it ends.

use super::MAX_EVENT_BYTES;

pub struct Sse {
    /// Whether an event of this `event:` name is read (a nameless one
    /// always is): the data of the others is not kept, only measured.
    keep: fn(&[u8]) -> bool,
    /// The line not yet ended (its start came in an earlier chunk).
    line: Vec<u8>,
    /// The line being read is past the cap: its rest is skipped.
    line_over: bool,
    /// The current event's `event:` name.
    name: Vec<u8>,
    /// The current event's `data:` lines, joined by newlines.
    data: Vec<u8>,
    /// The current event is past the cap: it will be counted, not read.
    data_over: bool,
    /// The current event has a data line (or an oversize one).
    has_data: bool,
    /// Events skipped: too large, or cut off by the stream's end.
    pub unparsed: u64,
}

impl Default for Sse {
    fn default() -> Sse {
        Sse::keeping(|_| true)
    }
}

impl Sse {
    pub fn keeping(keep: fn(&[u8]) -> bool) -> Sse {
        Sse {
            keep,
            line: Vec::new(),
            line_over: false,
            name: Vec::new(),
            data: Vec::new(),
            data_over: false,
            has_data: false,
            unparsed: 0,
        }
    }

    /// Feeds one chunk; `on_event(name, data)` runs for each whole event.
    /// A line within the chunk is read where it lies; only a line split
    /// across chunks is copied.
    pub fn feed(&mut self, mut chunk: &[u8], on_event: &mut dyn FnMut(&[u8], &[u8])) {
        while !chunk.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) if self.line.is_empty() && !self.line_over => {
                    self.line_ends(&chunk[..i], on_event);
                    chunk = &chunk[i + 1..];
                }
                Some(i) => {
                    self.push_line_part(&chunk[..i]);
                    self.end_line(on_event);
                    chunk = &chunk[i + 1..];
                }
                None => {
                    self.push_line_part(chunk);
                    break;
                }
            }
        }
    }

    /// The stream ended: an event it cut off is counted as unparsed.
    pub fn finish(&mut self) {
        if self.has_data || !self.line.is_empty() || self.line_over {
            self.unparsed += 1;
        }
        *self = Sse {
            unparsed: self.unparsed,
            ..Sse::keeping(self.keep)
        };
    }

    fn push_line_part(&mut self, part: &[u8]) {
        if self.line_over {
            return;
        }
        if self.line.len() + part.len() > MAX_EVENT_BYTES {
            self.line_over = true;
            self.line = Vec::new();
            return;
        }
        self.line.extend_from_slice(part);
    }

    fn end_line(&mut self, on_event: &mut dyn FnMut(&[u8], &[u8])) {
        if std::mem::take(&mut self.line_over) {
            // An oversize line makes its event unreadable.
            self.data_over = true;
            self.has_data = true;
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        self.line_ends(&line, on_event);
        line.clear();
        self.line = line; // keeps its capacity for the next line
    }

    /// One whole line (without its `\n`).
    fn line_ends(&mut self, line: &[u8], on_event: &mut dyn FnMut(&[u8], &[u8])) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(on_event);
        } else if line[0] != b':' {
            self.field(line);
        }
    }

    fn field(&mut self, line: &[u8]) {
        let (key, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match key {
            b"event" => {
                self.name.clear();
                self.name.extend_from_slice(value);
            }
            b"data" => {
                let kept = self.name.is_empty() || (self.keep)(&self.name);
                if !kept {
                    // Not read, but too large is counted all the same.
                    self.data_over |= value.len() + 1 > MAX_EVENT_BYTES;
                } else if !self.data_over {
                    if self.data.len() + value.len() + 1 > MAX_EVENT_BYTES {
                        self.data_over = true;
                        self.data = Vec::new();
                    } else {
                        if self.has_data {
                            self.data.push(b'\n');
                        }
                        self.data.extend_from_slice(value);
                    }
                }
                self.has_data = true;
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut dyn FnMut(&[u8], &[u8])) {
        if self.has_data {
            if self.data_over {
                self.unparsed += 1;
            } else {
                on_event(&self.name, &self.data);
            }
        }
        self.name.clear();
        self.data.clear();
        self.data_over = false;
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> (Vec<(String, String)>, u64) {
        let mut sse = Sse::default();
        let mut got = Vec::new();
        for c in chunks {
            sse.feed(c, &mut |n, d| {
                got.push((
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(d).into_owned(),
                ))
            });
        }
        sse.finish();
        (got, sse.unparsed)
    }

    #[test]
    fn events_split_across_chunks_are_whole() {
        let (got, unparsed) = events(&[
            b"event: a\r\nda",
            b"ta: {\"x\":1}\r\n\r\n: comment\n\ndata: 1\ndata: 2\n",
            b"\n",
        ]);
        assert_eq!(
            got,
            [
                ("a".into(), "{\"x\":1}".into()),
                (String::new(), "1\n2".into())
            ]
        );
        assert_eq!(unparsed, 0);
    }

    #[test]
    fn an_oversize_event_is_skipped_and_counted_and_the_next_is_read() {
        let big = vec![b'x'; MAX_EVENT_BYTES + 10];
        let mut stream = b"event: big\ndata: ".to_vec();
        stream.extend_from_slice(&big);
        stream.extend_from_slice(b"\n\nevent: small\ndata: ok\n\n");
        let chunks: Vec<&[u8]> = stream.chunks(4096).collect();
        let (got, unparsed) = events(&chunks);
        assert_eq!(got, [("small".into(), "ok".into())]);
        assert_eq!(unparsed, 1);
    }

    #[test]
    fn a_stream_cut_mid_event_counts_it() {
        let (got, unparsed) = events(&[b"data: {\"usage\":"]);
        assert!(got.is_empty());
        assert_eq!(unparsed, 1);
    }
}
