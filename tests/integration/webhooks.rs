//! Alert webhooks as operators give them: credentials in the URL sent as basic
//! authentication and never logged nor shown, and https collectors with a private CA
//! (`[alerts] ca_file`) or refused when their certificate is not trusted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aisgap::service::webhook::Webhook;

use crate::support::{aisgap, repo_path};

/// The password every test uses; it must never appear in what the service prints.
const PASSWORD: &str = "s3cr@t-Hook!pw";
/// The same, percent-encoded for the URL.
const PASSWORD_IN_URL: &str = "s3cr%40t-Hook!pw";
/// `ops:s3cr@t-Hook!pw` in base64, computed independently of the code under test.
const EXPECTED_AUTHORIZATION: &str = "Basic b3BzOnMzY3JAdC1Ib29rIXB3";

/// One post a collector took: its Authorization header and its body.
type Posted = Arc<Mutex<Vec<(Option<String>, String)>>>;

fn tls_server_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(repo_path("tests/data/tls/collector.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(repo_path("tests/data/tls/collector.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// A collector on loopback, over TLS when given a config; answers 503 to the first `refuse`
/// posts (so that the service logs its retries), 204 after.
fn collector(tls: Option<Arc<rustls::ServerConfig>>, refuse: usize) -> (u16, Posted) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let posted: Posted = Arc::default();
    let sink = posted.clone();
    thread::spawn(move || {
        let mut seen = 0;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let answer = if seen < refuse {
                &b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"[..]
            } else {
                &b"HTTP/1.1 204 No Content\r\n\r\n"[..]
            };
            let taken = match &tls {
                None => take_post(stream, answer),
                Some(config) => {
                    let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                    take_post(rustls::StreamOwned::new(connection, stream), answer)
                }
            };
            if let Some(post) = taken {
                seen += 1;
                if seen > refuse {
                    sink.lock().unwrap().push(post);
                }
            }
        }
    });
    (port, posted)
}

fn take_post(stream: impl Read + Write, answer: &[u8]) -> Option<(Option<String>, String)> {
    let mut reader = BufReader::new(stream);
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        if header == "\r\n" {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let mut stream = reader.into_inner();
    stream.write_all(answer).ok()?;
    stream.flush().ok()?;
    Some((authorization, String::from_utf8_lossy(&body).into_owned()))
}

/// A service reading the bundled scenario from its file, alerting to `alerts`.
fn config(dir: &Path, alerts: &str) -> PathBuf {
    let path = dir.join("aisgap.toml");
    let text = format!(
        "[ports]\nfile = {ports:?}\n\n[watchlist]\nfile = {watchlist:?}\n\n[store]\ndb = {db:?}\n\n[http]\nlisten = \"\"\n\n[alerts]\nretry_max_s = 1\n{alerts}\n\n[[source]]\nname = \"sample\"\nkind = \"file\"\npath = {sample:?}\nfollow = false\n",
        ports = repo_path("config/ports.geojson"),
        watchlist = repo_path("samples/watchlist.csv"),
        db = dir.join("service.db"),
        sample = repo_path("samples/scenario.nmea"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the service until `posted` holds `at_least` alerts, then stops it; returns what it
/// printed.
fn run_until_alerted(config: &Path, posted: &Posted, at_least: usize) -> String {
    let mut child: Child = aisgap()
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting aisgap run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while posted.lock().unwrap().len() < at_least {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) with a pid of our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        posted.lock().unwrap().len() >= at_least,
        "fewer than {at_least} alerts arrived within 30 s:\n{printed}"
    );
    printed
}

#[test]
fn credentials_in_the_url_become_basic_auth_and_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let (port, posted) = collector(None, 2);
    // `localhost`: only the host is resolved; with the credentials in it, it would not be.
    let url = format!("http://ops:{PASSWORD_IN_URL}@localhost:{port}/hook");
    let config = config(dir.path(), &format!("webhook = {url:?}"));

    let check = aisgap()
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{summary}");
    assert!(
        summary.contains(&format!(
            "Alerts: webhook http://ops:***@localhost:{port}/hook; basic authentication from the URL"
        )),
        "{summary}"
    );

    let printed = run_until_alerted(&config, &posted, 3);
    assert!(
        printed.contains("Alert not delivered; retrying.") && printed.contains("ops:***@"),
        "the refused posts are logged, redacted:\n{printed}"
    );
    for shown in [&summary[..], &printed[..]] {
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(PASSWORD_IN_URL),
            "the password was printed:\n{shown}"
        );
    }
    for (authorization, body) in posted.lock().unwrap().iter() {
        assert_eq!(authorization.as_deref(), Some(EXPECTED_AUTHORIZATION));
        let alert: serde_json::Value = serde_json::from_str(body).expect("a JSON alert");
        assert!(alert["mmsi"].as_u64().is_some(), "{body}");
    }
}

#[test]
fn an_https_webhook_trusts_the_ca_file_and_refuses_an_unknown_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (port, posted) = collector(Some(tls_server_config()), 0);
    let url = format!("https://ops:{PASSWORD_IN_URL}@localhost:{port}/hook");
    let ca = repo_path("tests/data/tls/ca.pem");

    // Without the private CA the collector's certificate is not trusted: nothing is sent.
    let untrusted = Webhook::new(&url, None).unwrap();
    let error = untrusted.post("{}").unwrap_err();
    assert!(error.contains("certificate"), "{error}");
    assert!(!error.contains(PASSWORD_IN_URL), "{error}");
    assert!(posted.lock().unwrap().is_empty());

    let config = config(dir.path(), &format!("webhook = {url:?}\nca_file = {ca:?}"));
    let printed = run_until_alerted(&config, &posted, 3);
    assert!(!printed.contains(PASSWORD_IN_URL), "{printed}");
    for (authorization, body) in posted.lock().unwrap().iter() {
        assert_eq!(authorization.as_deref(), Some(EXPECTED_AUTHORIZATION));
        assert!(
            serde_json::from_str::<serde_json::Value>(body).is_ok(),
            "{body}"
        );
    }
}

#[test]
fn check_config_refuses_webhooks_it_cannot_use_at_their_line_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.txt");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    // The [alerts] settings begin at line 14 of the test's configuration.
    for (alerts, field, line, says) in [
        (
            format!("webhook = \"ftp://ops:{PASSWORD_IN_URL}@collector/hook\""),
            "alerts.webhook",
            "line 15",
            "the scheme must be http:// or https://",
        ),
        (
            "webhook = \"http://collector/hook\"\nca_file = \"ca.pem\"".to_string(),
            "alerts.ca_file",
            "line 16",
            "applies only to an https:// webhook",
        ),
        (
            format!("webhook = \"https://collector/hook\"\nca_file = {not_pem:?}"),
            "alerts.ca_file",
            "line 16",
            "holds no PEM certificate",
        ),
    ] {
        let config = config(dir.path(), &alerts);
        let out = aisgap()
            .args(["check-config", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{alerts}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(says) && stderr.contains(line),
            "{alerts}: {stderr}"
        );
        assert!(!stderr.contains(PASSWORD_IN_URL), "{stderr}");
    }
}

/// Nothing but a closed port: posts fail fast and say where, without credentials.
#[test]
fn a_dead_webhook_is_named_without_its_password() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook = Webhook::new(
        &format!("http://ops:{PASSWORD_IN_URL}@127.0.0.1:{port}/hook"),
        None,
    )
    .unwrap();
    let error = hook.post("{}").unwrap_err();
    assert!(
        error.contains(&format!("http://ops:***@127.0.0.1:{port}/hook")),
        "{error}"
    );
}
