//! A loopback TCP proxy in front of a registry that breaks one connection in the middle of a
//! transfer, once, and logs each request's line and the headers that matter for resuming.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy)]
pub enum Cut {
    /// Drop the connection once the client has sent this many bytes of PATCH bodies.
    Upload(u64),
    /// Drop the connection once the registry has sent this many bytes of blob bodies.
    Download(u64),
}

pub struct Proxy {
    pub host: String,
    /// "METHOD path [Range: …] [Content-Range: …]", one per request, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    pub cut_done: Arc<AtomicBool>,
}

struct Shared {
    cut: Cut,
    counted: AtomicU64,
    cut_done: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    /// Counts `n` bytes of the watched direction; true when the connection must break now.
    fn should_cut(&self, upload: bool, n: u64) -> bool {
        let (watched, limit) = match self.cut {
            Cut::Upload(l) => (upload, l),
            Cut::Download(l) => (!upload, l),
        };
        if !watched || self.cut_done.load(Ordering::SeqCst) {
            return false;
        }
        let total = self.counted.fetch_add(n, Ordering::SeqCst) + n;
        total >= limit && !self.cut_done.swap(true, Ordering::SeqCst)
    }
}

pub fn start(upstream: &str, cut: Cut) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let host = listener.local_addr().expect("addr").to_string();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let cut_done = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared {
        cut,
        counted: AtomicU64::new(0),
        cut_done: cut_done.clone(),
        requests: requests.clone(),
    });
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let shared = shared.clone();
            std::thread::spawn(move || relay(client, server, shared));
        }
    });
    Proxy {
        host,
        requests,
        cut_done,
    }
}

fn relay(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (c2, s2) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
    );
    // Request lines in order, so each response is read knowing what it answers.
    let pending = Arc::new(Mutex::new(VecDeque::new()));
    let (up_shared, up_pending) = (shared.clone(), pending.clone());
    let up = std::thread::spawn(move || requests_upstream(c2, s2, &up_shared, &up_pending));
    responses_downstream(server, client, &shared, &pending);
    let _ = up.join();
}

fn kill(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

/// Reads up to and including the blank line ending an HTTP head.
fn read_head(from: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if from.read(&mut byte)? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
        // Not HTTP (the client's TLS probe before it falls back to plain HTTP): the caller
        // relays it raw.
        if head.len() == 1 && !byte[0].is_ascii_uppercase() {
            break;
        }
    }
    Ok(Some(head))
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Copies `len` body bytes, breaking both connections when the cut says so.
fn body(
    from: &mut TcpStream,
    to: &mut TcpStream,
    len: Option<u64>,
    counts: Option<bool>,
    shared: &Shared,
) -> io::Result<bool> {
    let mut left = len;
    let mut buf = [0u8; 16 * 1024];
    while left != Some(0) {
        let want = left.map_or(buf.len(), |l| l.min(buf.len() as u64) as usize);
        let n = from.read(&mut buf[..want])?;
        if n == 0 {
            return Ok(false);
        }
        if let Some(upload) = counts
            && shared.should_cut(upload, n as u64)
        {
            // Half of this read goes through, then the connection dies.
            let _ = to.write_all(&buf[..n / 2]);
            kill(from, to);
            return Ok(false);
        }
        to.write_all(&buf[..n])?;
        left = left.map(|l| l - n as u64);
    }
    Ok(true)
}

fn requests_upstream(
    mut client: TcpStream,
    mut server: TcpStream,
    shared: &Shared,
    pending: &Mutex<VecDeque<String>>,
) {
    while let Ok(Some(head)) = read_head(&mut client) {
        if !head[0].is_ascii_uppercase() {
            let _ = server.write_all(&head);
            let _ = io::copy(&mut client, &mut server);
            break;
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let mut line = text.lines().next().unwrap_or("").to_owned();
        for name in ["Range", "Content-Range"] {
            if let Some(v) = header(&text, name) {
                line.push_str(&format!(" {name}: {v}"));
            }
        }
        shared.requests.lock().expect("log").push(line.clone());
        pending.lock().expect("pending").push_back(line.clone());
        if server.write_all(&head).is_err() {
            break;
        }
        let len = header(&text, "Content-Length").and_then(|v| v.parse().ok());
        let counts = line.starts_with("PATCH ").then_some(true);
        match body(
            &mut client,
            &mut server,
            Some(len.unwrap_or(0)),
            counts,
            shared,
        ) {
            Ok(true) => {}
            _ => break,
        }
    }
    kill(&client, &server);
}

fn responses_downstream(
    mut server: TcpStream,
    mut client: TcpStream,
    shared: &Shared,
    pending: &Mutex<VecDeque<String>>,
) {
    while let Ok(Some(head)) = read_head(&mut server) {
        let request = pending
            .lock()
            .expect("pending")
            .pop_front()
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&head).to_string();
        if client.write_all(&head).is_err() {
            break;
        }
        let status = text.split_whitespace().nth(1).unwrap_or("");
        let bodiless = request.starts_with("HEAD ") || status == "204" || status == "304";
        let len: Option<u64> = if bodiless {
            Some(0)
        } else {
            header(&text, "Content-Length").and_then(|v| v.parse().ok())
        };
        let is_blob = request.starts_with("GET ") && request.contains("/blobs/sha256:");
        let counts = is_blob.then_some(false);
        // Without a length (chunked), relay raw until the connection ends.
        match body(&mut server, &mut client, len, counts, shared) {
            Ok(true) if len.is_some() => {}
            _ => break,
        }
    }
    kill(&client, &server);
}
