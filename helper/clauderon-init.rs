//! clauderon-init: PID 1 of every session container, built statically by
//! build.rs (std only, no crates) so it runs in any Linux image.
//!
//! It listens on loopback TCP addresses inside the container and forwards
//! each connection to a Unix socket mounted from the host (the daemon's
//! proxy and hook listener), so a container without a network still
//! reaches them; then it runs the entrypoint as its child, forwards
//! termination signals to it, reaps orphans, and exits with the child's
//! status. Usage:
//!
//!   clauderon-init [--forward 127.0.0.1:PORT=/path/to.sock]... -- PROGRAM [ARGS]...

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread;

unsafe extern "C" {
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize;
}

const SIGHUP: i32 = 1;
const SIGQUIT: i32 = 3;
const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;
const EINTR: i32 = 4;

/// Forwarding threads need little stack; many of them stay cheap.
const STACK: usize = 64 * 1024;

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn pass_on(sig: i32) {
    let pid = CHILD.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe and touches no memory.
        unsafe { kill(pid, sig) };
    }
}

fn fail(message: &str) -> ! {
    eprintln!("clauderon-init: {message}");
    std::process::exit(125);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--")
        .unwrap_or_else(|| fail("usage: clauderon-init [--forward ADDR=SOCKET]... -- PROGRAM [ARGS]..."));
    let (options, command) = (&args[..split], &args[split + 1..]);
    if command.is_empty() {
        fail("no program to run after --");
    }
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match (option.as_str(), options.next()) {
            ("--forward", Some(spec)) => forward(spec),
            _ => fail(&format!("unknown option {option:?}")),
        }
    }
    for sig in [SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM] {
        // SAFETY: installs a handler that only calls kill(2).
        unsafe { signal(sig, pass_on) };
    }
    let child = Command::new(&command[0])
        .args(&command[1..])
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", command[0])));
    CHILD.store(child.id() as i32, Ordering::Relaxed);
    std::process::exit(reap_until(child.id() as i32));
}

/// Binds the listener now (so it is there before the entrypoint runs) and
/// serves it from a thread of its own.
fn forward(spec: &str) {
    let Some((addr, socket)) = spec.split_once('=') else {
        fail(&format!("--forward {spec:?}: expected ADDR=SOCKET"));
    };
    let listener = TcpListener::bind(addr)
        .unwrap_or_else(|e| fail(&format!("cannot listen on {addr}: {e}")));
    let socket = socket.to_string();
    spawn(move || {
        for stream in listener.incoming().flatten() {
            let socket = socket.clone();
            spawn(move || connect(stream, &socket));
        }
    });
}

fn spawn(f: impl FnOnce() + Send + 'static) {
    let _ = thread::Builder::new().stack_size(STACK).spawn(f);
}

fn connect(tcp: TcpStream, socket: &str) {
    let unix = match UnixStream::connect(socket) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("clauderon-init: cannot reach {socket}: {e} (is the clauderon daemon running?)");
            return;
        }
    };
    let (Ok(tcp_in), Ok(unix_out)) = (tcp.try_clone(), unix.try_clone()) else {
        return;
    };
    spawn(move || pump(tcp_in, unix_out, |u| u.shutdown(Shutdown::Write)));
    pump(unix, tcp, |t| t.shutdown(Shutdown::Write));
}

/// Copies until end of stream, then half-closes the writer so the other
/// side sees the end too.
fn pump<R: Read, W: Write>(mut from: R, mut to: W, close: impl Fn(&W) -> io::Result<()>) {
    let _ = io::copy(&mut from, &mut to);
    let _ = close(&to);
}

/// Reaps every child (orphans are re-parented to PID 1) until `main_child`
/// exits; returns its exit code, or 128 + the signal that killed it.
fn reap_until(main_child: i32) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int to a live local.
        let pid = unsafe { waitpid(-1, &mut status, 0) };
        if pid < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(EINTR) {
                continue;
            }
            return 125;
        }
        if pid == main_child {
            return if status & 0x7f == 0 {
                (status >> 8) & 0xff
            } else {
                128 + (status & 0x7f)
            };
        }
    }
}
