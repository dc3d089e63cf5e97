//! Prometheus text-format metrics: request counts by method and status, request latency,
//! bytes served and received, uploads with hash state in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use crate::App;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency_micros: AtomicU64,
    latency_count: AtomicU64,
    bytes_served: AtomicU64,
    bytes_received: AtomicU64,
}

impl Metrics {
    pub fn record(&self, method: &Method, status: StatusCode, elapsed: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.as_str().to_owned(), status.as_u16()))
                .or_default() += 1;
        }
        self.latency_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_bytes_served(&self, n: u64) {
        self.bytes_served.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_bytes_received(&self, n: u64) {
        self.bytes_received.fetch_add(n, Ordering::Relaxed);
    }

    pub fn render_text(&self, uploads_in_memory: usize) -> String {
        let mut out = String::new();
        out.push_str("# HELP registry_http_requests_total HTTP requests by method and status.\n");
        out.push_str("# TYPE registry_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, code), n) in m.iter() {
                out.push_str(&format!(
                    "registry_http_requests_total{{method=\"{method}\",code=\"{code}\"}} {n}\n"
                ));
            }
        }
        out.push_str(
            "# HELP registry_http_request_duration_seconds Time spent serving requests.\n",
        );
        out.push_str("# TYPE registry_http_request_duration_seconds summary\n");
        out.push_str(&format!(
            "registry_http_request_duration_seconds_sum {}\n",
            self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str(&format!(
            "registry_http_request_duration_seconds_count {}\n",
            self.latency_count.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP registry_blob_bytes_served_total Blob bytes sent to clients.\n");
        out.push_str("# TYPE registry_blob_bytes_served_total counter\n");
        out.push_str(&format!(
            "registry_blob_bytes_served_total {}\n",
            self.bytes_served.load(Ordering::Relaxed)
        ));
        out.push_str(
            "# HELP registry_blob_bytes_received_total Blob bytes committed by uploads.\n",
        );
        out.push_str("# TYPE registry_blob_bytes_received_total counter\n");
        out.push_str(&format!(
            "registry_blob_bytes_received_total {}\n",
            self.bytes_received.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP registry_uploads_in_memory Uploads with cached hash state.\n");
        out.push_str("# TYPE registry_uploads_in_memory gauge\n");
        out.push_str(&format!("registry_uploads_in_memory {uploads_in_memory}\n"));
        out
    }

    pub fn render(&self, app: &App) -> Response<Body> {
        let text = self.render_text(app.store.uploads.in_memory());
        let mut r = Response::new(Body::from(text));
        r.headers_mut().insert(
            "content-type",
            axum::http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let m = Metrics::default();
        m.record(&Method::GET, StatusCode::OK, Duration::from_millis(2));
        m.add_bytes_served(10);
        let t = m.render_text(0);
        assert!(t.contains("registry_http_requests_total{method=\"GET\",code=\"200\"} 1\n"));
        assert!(t.contains("registry_blob_bytes_served_total 10\n"));
        assert!(t.contains("registry_http_request_duration_seconds_count 1\n"));
    }
}
