//! An in-process registry on an ephemeral 127.0.0.1 port, and small request helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use strata_reference::Digest;
use strata_registry_server::{App, Config};

pub struct TestServer {
    pub base: String,
    pub root: PathBuf,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(root: &Path, yaml: &str) -> TestServer {
        let config = Config::parse(yaml).expect("config");
        let app = Arc::new(App::from_config(&config, root.to_path_buf()).expect("app"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let tls = config.tls.clone();
        let task = tokio::spawn(async move {
            strata_registry_server::serve(listener, app, tls.as_ref(), async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        TestServer {
            base: format!("{scheme}://127.0.0.1:{}", addr.port()),
            root: root.to_path_buf(),
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    // Requests without a body; each returns the response whatever its status.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn head(&self, path: &str) -> reqwest::Response {
        self.client.head(self.url(path)).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.client.post(self.url(path)).send().await.unwrap()
    }

    pub async fn put(&self, path: &str) -> reqwest::Response {
        self.client.put(self.url(path)).send().await.unwrap()
    }

    pub async fn post_body(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        let r = self.client.post(self.url(path)).body(body);
        r.send().await.unwrap()
    }

    /// A request without a body, with an `Authorization` header.
    pub async fn send_authorized(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: &str,
    ) -> reqwest::Response {
        let r = self.client.request(method, self.url(path));
        r.header("authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// One chunk of an upload at `location`, with its `Content-Range`.
    pub async fn patch_chunk(
        &self,
        location: &str,
        range: impl AsRef<str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let r = self.client.patch(self.url(location));
        let r = r.header("content-range", range.as_ref()).body(body);
        r.send().await.unwrap()
    }

    /// POST an upload, which must be accepted; its location.
    pub async fn start_upload(&self, repo: &str) -> String {
        let r = self.post(&format!("/v2/{repo}/blobs/uploads/")).await;
        assert_eq!(r.status(), 202);
        header(&r, "location").to_owned()
    }

    /// GET a path with an Accept header.
    pub async fn get_accepting(&self, path: &str, accept: &str) -> reqwest::Response {
        let r = self.client.get(self.url(path)).header("accept", accept);
        r.send().await.unwrap()
    }

    /// GET a path that must answer 200 with a JSON body.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("JSON body")
    }

    /// Monolithic upload; panics unless 201.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> Digest {
        let d = Digest::sha256_of(data);
        let r = self
            .post_body(
                &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
                data.to_vec(),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        d
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &str,
    ) -> reqwest::Response {
        self.client
            .put(self.url(&format!("/v2/{repo}/manifests/{reference}")))
            .header("content-type", media_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// A config blob and one layer, and a Docker schema2 manifest for them.
    pub async fn push_image(&self, repo: &str, tag: &str, layer: &[u8]) -> (Digest, String) {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","n":{}}}"#,
            layer.len()
        );
        let cd = self.push_blob(repo, config.as_bytes()).await;
        let ld = self.push_blob(repo, layer).await;
        let manifest = docker_manifest(&cd, config.len(), &ld, layer.len());
        let r = self
            .put_manifest(repo, tag, DOCKER_MANIFEST, &manifest)
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        (Digest::sha256_of(manifest.as_bytes()), manifest)
    }
}

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// An index or manifest list of `media_type` over Docker manifests `(digest, size, arch)`, all
/// for linux.
pub fn index_of(media_type: &str, children: &[(&Digest, usize, &str)]) -> String {
    let entries: Vec<String> = children
        .iter()
        .map(|(d, size, arch)| {
            format!(
                r#"{{"mediaType":"{DOCKER_MANIFEST}","digest":"{d}","size":{size},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{media_type}","manifests":[{}]}}"#,
        entries.join(",")
    )
}

pub fn docker_manifest(
    config: &Digest,
    config_len: usize,
    layer: &Digest,
    layer_len: usize,
) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{config}","size":{config_len}}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{layer}","size":{layer_len}}}]}}"#
    )
}

/// A response header as text, empty when absent.
pub fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

pub async fn error_code(r: reqwest::Response) -> String {
    let v: serde_json::Value = r.json().await.expect("error body is JSON");
    v["errors"][0]["code"].as_str().unwrap_or("").to_owned()
}

/// A request sent byte for byte (clients normalise `..` away; attackers do not).
pub async fn raw_request(base: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}
