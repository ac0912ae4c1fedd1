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
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread;

unsafe extern "C" {
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn signal(sig: i32, handler: usize) -> usize;
    fn setpgid(pid: i32, pgid: i32) -> i32;
    fn tcsetpgrp(fd: i32, pgrp: i32) -> i32;
    fn getpid() -> i32;
    fn isatty(fd: i32) -> i32;
}

/// Signals passed on to the child: the ones `docker stop`/`kill` send (a
/// STOPSIGNAL may be any of them). Not CHLD (ours), not the job-control or
/// synchronous ones, not PIPE (the forwarder's broken connections).
const PASSED_ON: [i32; 7] = [1, 2, 3, 10, 12, 14, 15];
const SIGTTOU: i32 = 22;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;
const EINTR: i32 = 4;

/// Forwarding threads need little stack; many of them stay cheap.
const STACK: usize = 64 * 1024;

static CHILD: AtomicI32 = AtomicI32::new(0);
/// A signal that came before the child existed, delivered once it does.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn pass_on(sig: i32) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe and touches no memory.
        unsafe { kill(pid, sig) };
    } else {
        PENDING.store(sig, Ordering::SeqCst);
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
    for sig in PASSED_ON {
        // SAFETY: installs a handler that only calls kill(2) or stores an int.
        unsafe { signal(sig, pass_on as *const () as usize) };
    }
    let mut child = Command::new(&command[0]);
    child.args(&command[1..]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe { child.pre_exec(|| Ok(own_the_terminal())) };
    let child = child
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", command[0])));
    let pid = child.id() as i32;
    CHILD.store(pid, Ordering::SeqCst);
    let early = PENDING.swap(0, Ordering::SeqCst);
    if early > 0 {
        // SAFETY: kill(2) touches no memory.
        unsafe { kill(pid, early) };
    }
    std::process::exit(reap_until(pid));
}

/// In the child, before exec: its own process group, in the terminal's
/// foreground, so Ctrl-C and window changes reach it (once) from the
/// terminal, as they would without an init.
fn own_the_terminal() {
    // SAFETY: plain syscalls on the calling process; SIGTTOU is ignored
    // around tcsetpgrp because a background group may not call it.
    unsafe {
        setpgid(0, 0);
        if isatty(0) == 1 {
            signal(SIGTTOU, SIG_IGN);
            tcsetpgrp(0, getpid());
            signal(SIGTTOU, SIG_DFL);
        }
    }
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
        for stream in listener.incoming() {
            let Ok(stream) = stream else {
                // Out of descriptors, most likely: back off rather than spin.
                thread::sleep(std::time::Duration::from_millis(100));
                continue;
            };
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
            eprintln!(
                "clauderon-init: cannot reach the clauderon daemon at {socket}: {e}; on the host, run `clauderon daemon start`"
            );
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
