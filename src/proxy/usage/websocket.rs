//! WebSocket messages read out of the server's side of an upgraded
//! connection as its bytes pass: frames are decoded in bounded memory,
//! text messages handed on whole; a message past `MAX_EVENT_BYTES`, or a
//! compressed one (RSV1), is skipped and counted as unparsed.

use super::MAX_EVENT_BYTES;

#[derive(Default)]
pub struct Frames {
    /// The frame header read so far (at most 14 bytes).
    header: Vec<u8>,
    /// Bytes of the current frame's payload still to come (None: in a header).
    left: Option<u64>,
    mask: Option<[u8; 4]>,
    /// Payload bytes of the current frame seen (for unmasking).
    at: u64,
    /// The current frame is part of a text message.
    text: bool,
    /// A text message has begun and not yet ended.
    in_message: bool,
    fin: bool,
    /// The text message being gathered.
    message: Vec<u8>,
    over: bool,
    compressed: bool,
    pub unparsed: u64,
}

impl Frames {
    pub fn feed(&mut self, mut chunk: &[u8], on_message: &mut dyn FnMut(&[u8])) {
        while !chunk.is_empty() {
            match self.left {
                None => {
                    let b = chunk[0];
                    chunk = &chunk[1..];
                    self.header.push(b);
                    if let Some(len) = self.header_done() {
                        self.start_frame(len, on_message);
                    }
                }
                Some(left) => {
                    let n = (left.min(chunk.len() as u64)) as usize;
                    self.payload(&chunk[..n]);
                    chunk = &chunk[n..];
                    self.left = Some(left - n as u64);
                    if left - n as u64 == 0 {
                        self.end_frame(on_message);
                    }
                }
            }
        }
    }

    /// The payload length once the whole header is in.
    fn header_done(&self) -> Option<u64> {
        let h = &self.header;
        if h.len() < 2 {
            return None;
        }
        let masked = h[1] & 0x80 != 0;
        let (ext, len) = match h[1] & 0x7f {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(n as u64)),
        };
        let need = 2 + ext + if masked { 4 } else { 0 };
        if h.len() < need {
            return None;
        }
        Some(len.unwrap_or_else(|| {
            h[2..2 + ext]
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | *b as u64)
        }))
    }

    fn start_frame(&mut self, len: u64, on_message: &mut dyn FnMut(&[u8])) {
        let h = std::mem::take(&mut self.header);
        self.fin = h[0] & 0x80 != 0;
        self.mask = (h[1] & 0x80 != 0).then(|| {
            let m = &h[h.len() - 4..];
            [m[0], m[1], m[2], m[3]]
        });
        self.at = 0;
        // Control frames may come between a message's fragments; binary
        // messages are not read.
        self.text = match h[0] & 0x0f {
            1 => {
                self.in_message = true;
                self.message.clear();
                self.over = false;
                self.compressed = h[0] & 0x40 != 0;
                true
            }
            0 => self.in_message,
            _ => false,
        };
        self.left = Some(len);
        if len == 0 {
            self.end_frame(on_message);
        }
    }

    fn payload(&mut self, part: &[u8]) {
        if !self.text || self.over || self.compressed {
            self.at += part.len() as u64;
            return;
        }
        if self.message.len() + part.len() > MAX_EVENT_BYTES {
            self.over = true;
            self.message = Vec::new();
            return;
        }
        let start = self.message.len();
        self.message.extend_from_slice(part);
        if let Some(mask) = self.mask {
            for (i, b) in self.message[start..].iter_mut().enumerate() {
                *b ^= mask[((self.at + i as u64) % 4) as usize];
            }
        }
        self.at += part.len() as u64;
    }

    fn end_frame(&mut self, on_message: &mut dyn FnMut(&[u8])) {
        self.left = None;
        if !(self.text && self.fin) {
            return;
        }
        if self.over || self.compressed {
            self.unparsed += 1;
        } else {
            on_message(&self.message);
        }
        self.message.clear();
        self.in_message = false;
        self.over = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![first];
        match payload.len() {
            n if n < 126 => f.push(n as u8),
            n if n < 65536 => {
                f.push(126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(payload);
        f
    }

    fn messages(stream: &[u8], chunk: usize) -> (Vec<String>, u64) {
        let mut frames = Frames::default();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            frames.feed(c, &mut |m| {
                got.push(String::from_utf8_lossy(m).into_owned())
            });
        }
        (got, frames.unparsed)
    }

    #[test]
    fn text_messages_come_whole_fragments_pings_and_all() {
        let mut s = frame(0x81, b"one");
        s.extend(frame(0x01, b"t"));
        s.extend(frame(0x89, b"ping"));
        s.extend(frame(0x80, b"wo"));
        s.extend(frame(0x82, b"\x00binary"));
        s.extend(frame(0x81, &[b'y'; 70000]));
        for chunk in [1, 3, 1000] {
            let (got, unparsed) = messages(&s, chunk);
            assert_eq!(got.len(), 3, "chunk {chunk}");
            assert_eq!(&got[..2], ["one", "two"]);
            assert_eq!(got[2].len(), 70000);
            assert_eq!(unparsed, 0);
        }
    }

    #[test]
    fn oversize_and_compressed_messages_are_counted() {
        let mut s = frame(0x81, &vec![b'z'; MAX_EVENT_BYTES + 1]);
        s.extend(frame(0xC1, b"deflated"));
        s.extend(frame(0x81, b"after"));
        let (got, unparsed) = messages(&s, 8192);
        assert_eq!(got, ["after"]);
        assert_eq!(unparsed, 2);
    }
}
