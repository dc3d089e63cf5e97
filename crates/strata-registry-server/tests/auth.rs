//! Basic and bearer-token auth, per-repository permissions, the filtered catalog, and TLS.

mod common;

use base64::Engine as _;
use common::*;
use reqwest::Method;

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn write_htpasswd(dir: &std::path::Path) -> String {
    let path = dir.join("htpasswd");
    let hash = bcrypt::hash("pw", 4).unwrap();
    std::fs::write(&path, format!("alice:{hash}\nbob:{hash}\n")).unwrap();
    path.display().to_string()
}

const RULES: &str = "  access:
    - {repository: 'public/*', users: [anonymous, '*'], actions: [pull]}
    - {repository: 'bob/*', users: [bob], actions: [pull, push]}
    - {repository: '*', users: [alice], actions: [pull, push, delete]}
";

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_challenges_denies_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let ht = write_htpasswd(dir.path());
    let cfg = format!(
        "delete_enabled: true\nauth:\n  htpasswd: {{path: {ht}, realm: test-realm}}\n{RULES}"
    );
    let s = TestServer::start(&dir.path().join("data"), &cfg).await;

    // Without credentials: a Basic challenge (the /v2/ check docker login does).
    let r = s.get("/v2/").await;
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "www-authenticate"), "Basic realm=\"test-realm\"");
    assert_eq!(error_code(r).await, "UNAUTHORIZED");
    // Wrong password.
    let r = s
        .send_authorized(Method::GET, "/v2/", &basic("alice", "no"))
        .await;
    assert_eq!(r.status(), 401);
    let r = s
        .send_authorized(Method::GET, "/v2/", &basic("alice", "pw"))
        .await;
    assert_eq!(r.status(), 200);

    // alice pushes everywhere; bob only under bob/.
    for repo in ["private/x", "public/y", "bob/z"] {
        let d = strata_reference::Digest::sha256_of(repo.as_bytes());
        let r = s
            .client
            .post(s.url(&format!("/v2/{repo}/blobs/uploads/?digest={d}")))
            .header("authorization", basic("alice", "pw"))
            .body(repo.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let cd = s
            .client
            .post(s.url(&format!(
                "/v2/{repo}/blobs/uploads/?digest={}",
                strata_reference::Digest::sha256_of(b"{}")
            )))
            .header("authorization", basic("alice", "pw"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(cd.status(), 201);
        let m = docker_manifest(
            &strata_reference::Digest::sha256_of(b"{}"),
            2,
            &d,
            repo.len(),
        );
        let r = s
            .client
            .put(s.url(&format!("/v2/{repo}/manifests/v1")))
            .header("authorization", basic("alice", "pw"))
            .header("content-type", DOCKER_MANIFEST)
            .body(m)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = s
        .send_authorized(
            Method::POST,
            "/v2/private/x/blobs/uploads/",
            &basic("bob", "pw"),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "DENIED");
    let r = s
        .send_authorized(
            Method::POST,
            "/v2/bob/z/blobs/uploads/",
            &basic("bob", "pw"),
        )
        .await;
    assert_eq!(r.status(), 202);
    let r = s
        .send_authorized(
            Method::DELETE,
            "/v2/bob/z/manifests/v1",
            &basic("bob", "pw"),
        )
        .await;
    assert_eq!(r.status(), 403);
    // Anonymous may pull public/ but learns nothing about the rest.
    let r = s.get("/v2/public/y/manifests/v1").await;
    assert_eq!(r.status(), 200);
    let r = s.get("/v2/private/x/manifests/v1").await;
    assert_eq!(r.status(), 401);
    let r = s.get("/v2/private/x/manifests/nonexistent").await;
    assert_eq!(r.status(), 401);

    let v: serde_json::Value = s.get("/v2/_catalog").await.json().await.unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["public/y"]));
    let v: serde_json::Value = s
        .send_authorized(Method::GET, "/v2/_catalog", &basic("bob", "pw"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["bob/z", "public/y"]));
    let v: serde_json::Value = s
        .send_authorized(Method::GET, "/v2/_catalog", &basic("alice", "pw"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["repositories"].as_array().unwrap().len(), 3);
    let v: serde_json::Value = s.get("/v1/search?q=x").await.json().await.unwrap();
    assert_eq!(v["num_results"], 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_flow() {
    let dir = tempfile::tempdir().unwrap();
    let ht = write_htpasswd(dir.path());
    let cfg = format!("auth:\n  htpasswd: {{path: {ht}}}\n  token: {{service: test-svc}}\n{RULES}");
    let s = TestServer::start(&dir.path().join("data"), &cfg).await;
    let r = s.post("/v2/bob/z/blobs/uploads/").await;
    assert_eq!(r.status(), 401);
    let host = s.base.trim_start_matches("http://");
    assert_eq!(
        header(&r, "www-authenticate"),
        format!(
            "Bearer realm=\"http://{host}/token\",service=\"test-svc\",scope=\"repository:bob/z:pull,push\""
        )
    );

    // Wrong credentials at the token endpoint.
    let r = s
        .send_authorized(
            Method::GET,
            "/token?service=test-svc&scope=repository:bob/z:pull,push",
            &basic("bob", "bad"),
        )
        .await;
    assert_eq!(r.status(), 401);

    let token = |user: Option<&str>, scope: &str| {
        let mut req = s
            .client
            .get(s.url(&format!("/token?service=test-svc&scope={scope}")));
        if let Some(u) = user {
            req = req.header("authorization", basic(u, "pw"));
        }
        async move {
            let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            assert!(v["expires_in"].as_u64().unwrap() > 0);
            v["token"].as_str().unwrap().to_owned()
        }
    };
    let t = token(Some("bob"), "repository:bob/z:pull,push").await;
    let r = s
        .client
        .post(s.url("/v2/bob/z/blobs/uploads/"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // The same token does not reach another repository.
    let r = s
        .client
        .post(s.url("/v2/private/x/blobs/uploads/"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").contains("error=\"insufficient_scope\""));
    // Bob asking for push on someone else's repository gets a token without it.
    let t = token(Some("bob"), "repository:private/x:pull,push").await;
    let r = s
        .client
        .post(s.url("/v2/private/x/blobs/uploads/"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Anonymous pull of public/ works through an anonymous token.
    let t = token(None, "repository:public/y:pull").await;
    let r = s
        .client
        .get(s.url("/v2/public/y/tags/list"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "authorised, and the repository does not exist"
    );
    // A forged token is refused.
    let r = s
        .client
        .get(s.url("/v2/public/y/tags/list"))
        .bearer_auth(format!("{t}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_from_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !ok.as_ref().is_ok_and(|o| o.status.success()) {
        println!("skipping: openssl could not make a certificate");
        return;
    }
    let cfg = format!(
        "tls: {{cert: {}, key: {}}}\n",
        cert.display(),
        key.display()
    );
    let s = TestServer::start(&dir.path().join("data"), &cfg).await;
    assert!(s.base.starts_with("https://"));
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let r = client.get(s.url("/v2/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "docker-distribution-api-version"),
        "registry/2.0"
    );
    // Plain HTTP to the TLS port fails.
    let plain = s.base.replace("https://", "http://");
    assert!(
        reqwest::get(format!("{plain}/v2/"))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );
    s.stop().await;
}
