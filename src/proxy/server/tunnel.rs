//! Plain tunnels: bytes copied both ways between the client's connection
//! and the target, until either side closes or nothing moves for
//! TUNNEL_IDLE.
//!
//! hyper hands an upgraded connection back behind two wrappers (its own
//! I/O traits, and a buffer of what it read past the CONNECT); the tunnel
//! takes the socket back out of them and copies between the sockets
//! themselves. The copy buffer starts small (an idle tunnel costs little)
//! and grows while reads fill it (a download moves in large reads).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use super::{TUNNEL_IDLE, now_ms};

/// The copy buffer of an idle or interactive tunnel, per direction.
const MIN_BUF: usize = 16 * 1024;
/// The most it grows to while a bulk transfer fills it.
const MAX_BUF: usize = 256 * 1024;

/// Copies between the client's upgraded connection and `upstream`.
pub(super) async fn run(upgraded: Upgraded, upstream: TcpStream) {
    let upgraded = match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => return copy(parts.io.into_inner(), parts.read_buf, upstream).await,
        Err(u) => u,
    };
    match upgraded.downcast::<TokioIo<UnixStream>>() {
        Ok(parts) => copy(parts.io.into_inner(), parts.read_buf, upstream).await,
        Err(u) => copy(TokioIo::new(u), Bytes::new(), upstream).await,
    }
}

/// `pending`: what the client sent after its CONNECT that hyper already read.
async fn copy<C>(client: C, pending: Bytes, mut upstream: TcpStream)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    if !pending.is_empty() && upstream.write_all(&pending).await.is_err() {
        return;
    }
    let last = AtomicU64::new(now_ms());
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = upstream.split();
    let up = pump(&mut cr, &mut uw, &last);
    let down = pump(&mut ur, &mut cw, &last);
    let idle = async {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            if now_ms().saturating_sub(last.load(Ordering::Relaxed))
                > TUNNEL_IDLE.as_millis() as u64
            {
                break;
            }
        }
    };
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = idle => {}
    }
}

/// Copies one way until EOF or an error, noting when bytes last moved.
async fn pump<R, W>(reader: &mut R, writer: &mut W, last: &AtomicU64)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; MIN_BUF];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        last.store(now_ms(), Ordering::Relaxed);
        if writer.write_all(&buf[..n]).await.is_err() {
            break;
        }
        buf = resized(buf, n);
    }
    let _ = writer.shutdown().await;
}

/// Twice as large after a read that filled it; back to MIN_BUF after a
/// small read, so a tunnel that goes quiet does not keep a large buffer.
fn resized(buf: Vec<u8>, read: usize) -> Vec<u8> {
    if read == buf.len() && buf.len() < MAX_BUF {
        vec![0u8; buf.len() * 2]
    } else if read < MIN_BUF && buf.len() > MIN_BUF {
        vec![0u8; MIN_BUF]
    } else {
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_grows_while_reads_fill_it_and_shrinks_after_a_small_one() {
        let mut buf = vec![0u8; MIN_BUF];
        for _ in 0..10 {
            let n = buf.len();
            buf = resized(buf, n);
        }
        assert_eq!(buf.len(), MAX_BUF);
        buf = resized(buf, MAX_BUF / 2);
        assert_eq!(buf.len(), MAX_BUF);
        buf = resized(buf, 100);
        assert_eq!(buf.len(), MIN_BUF);
    }

    #[tokio::test]
    async fn bytes_read_past_the_connect_reach_the_target_first() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        let upstream = TcpStream::connect(addr).await.unwrap();
        let (client, mut peer) = tokio::io::duplex(1024);
        let copying = tokio::spawn(copy(client, Bytes::from_static(b"early "), upstream));
        peer.write_all(b"late").await.unwrap();
        peer.shutdown().await.unwrap();
        assert_eq!(target.await.unwrap(), b"early late");
        drop(peer);
        copying.await.unwrap();
    }
}
