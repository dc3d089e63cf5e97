//! A tiny misbehaving registry on a raw TcpListener: serves one image, and can serve a layer
//! whose bytes do not match its digest, or cut the layer's first response in the middle.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, PartialEq)]
pub enum Fault {
    None,
    WrongBlob,
    CutFirstResponse,
    /// Every request answered 401 with a bearer challenge whose token never works.
    AuthLoop,
}

pub struct FakeRegistry {
    pub host: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

/// Serves `manifest` at `/v2/NAME/manifests/latest` and `blobs` by digest path.
pub fn start(
    name: &str,
    manifest: Vec<u8>,
    blobs: HashMap<String, Vec<u8>>,
    layer_digest: String,
    fault: Fault,
) -> FakeRegistry {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let name = name.to_owned();
    let host2 = host.clone();
    std::thread::spawn(move || {
        let mut layer_requests = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut range = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("range") {
                        range = Some(v.trim().to_owned());
                    }
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            log.lock().expect("log").push(format!(
                "{} {}",
                path,
                range.clone().unwrap_or_default()
            ));
            let respond = |stream: &mut std::net::TcpStream,
                           status: &str,
                           headers: &str,
                           body: &[u8]| {
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
                    body.len()
                );
                let _ = stream.write_all(body);
            };
            if fault == Fault::AuthLoop && !path.starts_with("/token") {
                let challenge = format!(
                    "Www-Authenticate: Bearer realm=\"http://{host2}/token\",service=\"fake\"\r\n"
                );
                respond(&mut stream, "401 Unauthorized", &challenge, b"{}");
                continue;
            }
            if path.starts_with("/token") {
                respond(
                    &mut stream,
                    "200 OK",
                    "Content-Type: application/json\r\n",
                    br#"{"token":"never-good"}"#,
                );
                continue;
            }
            if path == "/v2/" {
                respond(&mut stream, "200 OK", "", b"{}");
            } else if path == format!("/v2/{name}/manifests/latest") {
                respond(
                    &mut stream,
                    "200 OK",
                    "Content-Type: application/vnd.docker.distribution.manifest.v2+json\r\n",
                    &manifest,
                );
            } else if let Some(digest) = path.strip_prefix(&format!("/v2/{name}/blobs/")) {
                let Some(blob) = blobs.get(digest) else {
                    respond(&mut stream, "404 Not Found", "", b"");
                    continue;
                };
                let is_layer = digest == layer_digest;
                if is_layer {
                    layer_requests += 1;
                }
                match (fault, is_layer, range) {
                    (Fault::WrongBlob, true, _) => {
                        let mut bad = blob.clone();
                        let last = bad.len() - 1;
                        bad[last] ^= 0xff;
                        respond(&mut stream, "200 OK", "", &bad);
                    }
                    (Fault::CutFirstResponse, true, None) if layer_requests == 1 => {
                        // Promise the whole blob, send half, hang up.
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            blob.len()
                        );
                        let _ = stream.write_all(&blob[..blob.len() / 2]);
                        let _ = stream.flush();
                    }
                    (_, _, Some(r)) => {
                        let start: usize = r
                            .trim_start_matches("bytes=")
                            .trim_end_matches('-')
                            .parse()
                            .unwrap_or(0);
                        let headers = format!(
                            "Content-Range: bytes {start}-{}/{}\r\n",
                            blob.len() - 1,
                            blob.len()
                        );
                        respond(&mut stream, "206 Partial Content", &headers, &blob[start..]);
                    }
                    _ => respond(&mut stream, "200 OK", "", blob),
                }
            } else {
                respond(&mut stream, "404 Not Found", "", b"");
            }
        }
    });
    FakeRegistry { host, requests }
}
