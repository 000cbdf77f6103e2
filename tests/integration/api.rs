//! The analysts' HTTP API and map page served for real on loopback over the sample database:
//! answers identical to `aisgap query`, filters and paging, refusals that name the parameter,
//! the OpenAPI description checked against the routes and real answers, the token rule, and
//! (module `browser`) the page driven in headless Chromium.
//!
//! HTTP client: `ureq` (dev-dependency, built without TLS): a small blocking client, so the
//! tests and the WebDriver session read as plain sequences of requests.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use aisgap::api::{self, routes, AccessToken, ApiState};
use aisgap::config::Config;
use aisgap::store::Store;
use serde_json::{json, Value};

use crate::support::{aisgap, repo_path};

const TOKEN: &str = "test-token-for-the-api-0123456789";

/// The sample scenario replayed once into a database shared (read-only) by every test here.
pub(crate) fn sample_db() -> &'static Path {
    static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DB.get_or_init(|| {
        let samples = repo_path("samples");
        let config = Config::load(&samples.join("aisgap.toml")).expect("samples/aisgap.toml");
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sample.db");
        let store = Store::open(&db).unwrap();
        let (_, store) =
            aisgap::offline::replay::replay(&config, store, &[samples.join("scenario.nmea")])
                .expect("replaying samples/scenario.nmea");
        drop(store);
        (dir, db)
    });
    path
}

/// A server on 127.0.0.1:0 in its own runtime; dropping it shuts it down and waits.
pub(crate) struct Served {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Served {
    pub(crate) fn start(db: &Path, token: Option<&str>) -> Served {
        let token = token.map(|t| AccessToken::new(t, "test").unwrap());
        let state = ApiState::open(db, token).expect("opening the database");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
                let shutdown = async {
                    let _ = stopped.await;
                };
                api::serve(listener, api::router(state), shutdown)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        Served {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server and returns how it ended.
    fn shut_down(&mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| "server thread panicked".to_string())?,
            None => Ok(()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

struct Answer {
    status: u16,
    content_type: String,
    total: Option<u64>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", &self.body[..self.body.len().min(300)])
        })
    }
}

fn get_with(url: &str, authorization: Option<&str>) -> Answer {
    let mut request = agent().get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = response.status().as_u16();
    let content_type = header("content-type").unwrap_or_default();
    let total = header("x-total-count").map(|t| t.parse().expect("X-Total-Count is a number"));
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap_or_else(|e| panic!("GET {url}: body: {e}"));
    Answer {
        status,
        content_type,
        total,
        body,
    }
}

fn get(served: &Served, path: &str) -> Answer {
    get_with(&served.url(path), None)
}

fn get_ok(served: &Served, path: &str) -> Answer {
    let answer = get(served, path);
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    answer
}

/// What `aisgap query ...` prints for the same question.
fn cli(args: &[&str]) -> String {
    let output = aisgap()
        .arg("query")
        .args(args)
        .arg("--db")
        .arg(sample_db())
        .output()
        .expect("running aisgap query");
    assert!(
        output.status.success(),
        "aisgap query {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn cli_json(args: &[&str]) -> Value {
    serde_json::from_str(&cli(args)).expect("aisgap query prints JSON")
}

fn trip_keys(records: &Value) -> Vec<String> {
    records
        .as_array()
        .expect("an array")
        .iter()
        .map(|g| format!("{}@{}", g["mmsi"], g["dark_from"].as_str().unwrap()))
        .collect()
}

#[test]
fn answers_are_those_of_aisgap_query() {
    let served = Served::start(sample_db(), None);
    let trips = get_ok(&served, "/api/v1/trips");
    assert_eq!(trips.content_type, "application/json");
    let trips_json = trips.json();
    assert_eq!(trips_json, cli_json(&["trips", "--format", "json"]));
    assert_eq!(
        trips_json.as_array().unwrap().len(),
        14,
        "the sample has 14 trips"
    );
    assert_eq!(trips.total, Some(14));

    let pairs: &[(&str, &[&str])] = &[
        ("/api/v1/gaps", &["gaps", "--format", "json"]),
        ("/api/v1/dark-now", &["dark-now", "--format", "json"]),
        (
            "/api/v1/tally?by=port,month",
            &["tally", "--by", "port,month", "--format", "json"],
        ),
        (
            "/api/v1/tally?by=port,vessel,month",
            &["tally", "--by", "port,vessel,month", "--format", "json"],
        ),
        ("/api/v1/ports", &["ports", "--format", "json"]),
        (
            "/api/v1/vessels/445126000",
            &["vessel", "445126000", "--format", "json"],
        ),
        (
            "/api/v1/vessels/445126000?since=2024-03-06&until=2024-03-08",
            &[
                "vessel",
                "445126000",
                "--since",
                "2024-03-06",
                "--until",
                "2024-03-08",
                "--format",
                "json",
            ],
        ),
        (
            "/api/v1/trips?format=geojson",
            &["trips", "--format", "geojson"],
        ),
        (
            "/api/v1/ports?format=geojson",
            &["ports", "--format", "geojson"],
        ),
    ];
    for (path, args) in pairs {
        assert_eq!(
            get_ok(&served, path).json(),
            cli_json(args),
            "{path} against aisgap query {args:?}"
        );
    }
    for (path, args) in [
        ("/api/v1/trips?format=csv", vec!["trips", "--format", "csv"]),
        (
            "/api/v1/gaps?format=csv&status=unreachable",
            vec!["gaps", "--status", "unreachable", "--format", "csv"],
        ),
        (
            "/api/v1/tally?by=vessel&format=csv",
            vec!["tally", "--by", "vessel", "--format", "csv"],
        ),
        ("/api/v1/ports?format=csv", vec!["ports", "--format", "csv"]),
    ] {
        let answer = get_ok(&served, path);
        assert_eq!(answer.content_type, "text/csv; charset=utf-8", "{path}");
        assert_eq!(answer.body, cli(&args), "{path}");
    }
    let geojson = get_ok(&served, "/api/v1/trips?format=geojson");
    assert_eq!(geojson.content_type, "application/geo+json");
}

#[test]
fn filters_and_pages_narrow_the_answer() {
    let served = Served::start(sample_db(), None);
    let all = get_ok(&served, "/api/v1/trips").json();
    let all = all.as_array().unwrap();
    let high: Vec<&Value> = all.iter().filter(|g| g["confidence"] == "high").collect();
    let answer = get_ok(&served, "/api/v1/trips?confidence=high&port=Vostochny");
    assert_eq!(answer.json().as_array().unwrap().len(), high.len());
    assert_eq!(high.len(), 10);
    assert_eq!(answer.total, Some(10));

    let page = get_ok(&served, "/api/v1/trips?limit=5&offset=10");
    assert_eq!(page.total, Some(14), "the total ignores paging");
    assert_eq!(page.json().as_array().unwrap(), &all[10..14]);

    let one = get_ok(&served, "/api/v1/trips?mmsi=445126000").json();
    assert!(one
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["mmsi"] == 445126000));
    assert_eq!(one.as_array().unwrap().len(), 3);
    let by_imo = get_ok(&served, "/api/v1/trips?imo=8372538").json();
    assert_eq!(by_imo, one);

    let window = get_ok(&served, "/api/v1/trips?since=2024-03-15&until=2024-03-16").json();
    let keys = trip_keys(&window);
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(window
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["dark_from"].as_str().unwrap().starts_with("2024-03-15")));

    let gaps = get_ok(&served, "/api/v1/gaps?status=unreachable").json();
    assert_eq!(gaps.as_array().unwrap().len(), 6);
    assert!(gaps
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["status"] == "unreachable"));
    let none = get_ok(&served, "/api/v1/trips?port=Slavyanka");
    assert_eq!((none.body.as_str(), none.total), ("[]", Some(0)));

    let tally = get_ok(&served, "/api/v1/tally?by=month&confidence=high").json();
    assert_eq!(tally[0]["trips"], 10);
    let ports = get_ok(&served, "/api/v1/ports?min_vessels=9").json();
    let vostochny = ports
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Vostochny")
        .unwrap();
    assert!(
        vostochny["hours_covered"].as_u64().unwrap() < vostochny["hours_heard"].as_u64().unwrap()
    );
    let hours = get_ok(
        &served,
        "/api/v1/ports/Vostochny/hours?since=2024-03-06&until=2024-03-06T03:00:00Z",
    )
    .json();
    assert_eq!(hours.as_array().unwrap().len(), 3);
    assert_eq!(hours[0]["hour"], "2024-03-06T00:00:00Z");
    let vessel = get_ok(
        &served,
        "/api/v1/vessels/445126000?since=2024-03-06&until=2024-03-07",
    )
    .json();
    for point in vessel["track"].as_array().unwrap() {
        assert!(
            point["time"].as_str().unwrap().starts_with("2024-03-06"),
            "{point}"
        );
    }
    let summary = get_ok(&served, "/api/v1/summary").json();
    assert_eq!(summary["stream_clock"], "2024-03-24T23:58:14Z");
    assert_eq!(summary["counters"]["decode.lines"], 35462);
}

#[test]
fn the_summary_says_when_the_database_was_built_from_incomplete_input() {
    let served = Served::start(sample_db(), None);
    let complete = get_ok(&served, "/api/v1/summary").json();
    assert_eq!(complete["complete_input"], true);
    assert_eq!(complete["incomplete_input"], serde_json::json!([]));
    let dir = tempfile::tempdir().unwrap();
    let db = crate::formats::truncated_replay_db(dir.path());
    let served = Served::start(&db, None);
    let summary = get_ok(&served, "/api/v1/summary").json();
    assert_eq!(summary["complete_input"], false);
    let reasons = summary["incomplete_input"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{summary}");
    let reason = reasons[0].as_str().unwrap();
    assert!(
        reason.contains("scenario.nmea.gz: input ends early")
            && reason.contains("gzip stream broken at compressed byte"),
        "{reason}"
    );
    assert!(summary["counters"]["decode.lines"].as_u64().unwrap() > 0);
    assert_eq!(summary["counters"]["input.broken_logs"], 1);
}

#[test]
fn bad_parameters_are_refused_by_name() {
    let served = Served::start(sample_db(), None);
    let cases = [
        ("/api/v1/trips?prot=Vostochny", "prot"),
        ("/api/v1/trips?since=last-tuesday", "since"),
        ("/api/v1/trips?since=2024-03-10&until=2024-03-01", "until"),
        ("/api/v1/trips?limit=100000", "limit"),
        ("/api/v1/trips?offset=-1", "offset"),
        ("/api/v1/trips?mmsi=44512600099", "mmsi"),
        ("/api/v1/trips?imo=IMO8372538", "imo"),
        ("/api/v1/trips?confidence=certain", "confidence"),
        ("/api/v1/trips?status=trip", "status"),
        ("/api/v1/gaps?status=dark", "status"),
        ("/api/v1/tally?format=geojson", "format"),
        ("/api/v1/tally?by=year", "by"),
        ("/api/v1/trips?format=xml", "format"),
        ("/api/v1/trips?port=A&port=B", "port"),
        ("/api/v1/ports?min_vessels=many", "min_vessels"),
        ("/api/v1/vessels/445126000?format=csv", "format"),
        ("/api/v1/vessels/not-an-mmsi", "mmsi"),
        ("/api/v1/summary?verbose=1", "verbose"),
        ("/api/v1/trips?offset=9223372036854775808", "offset"),
        ("/api/v1/trips?limit=18446744073709551616", "limit"),
        ("/api/v1/trips?mmsi=99999999999999999999", "mmsi"),
        ("/api/v1/trips?since=9223372036854775807", "since"),
        ("/api/v1/trips?until=99999999999999999999", "until"),
    ];
    for (path, parameter) in cases {
        let answer = get(&served, path);
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        let body = answer.json();
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(parameter),
            "{path}: {body}"
        );
    }
}

#[test]
fn unknown_routes_and_writes_are_refused() {
    let served = Served::start(sample_db(), None);
    for path in [
        "/api/v1/nothing",
        "/api/v2/trips",
        "/admin",
        "/assets/secret.js",
        "/api/v1/trips/extra",
    ] {
        let answer = get(&served, path);
        assert_eq!(answer.status, 404, "{path}");
        assert!(
            answer.json()["error"]
                .as_str()
                .unwrap()
                .contains("no such route"),
            "{path}"
        );
    }
    let unknown_vessel = get(&served, "/api/v1/vessels/999999999");
    assert_eq!(unknown_vessel.status, 404);
    assert!(unknown_vessel.body.contains("999999999"));
    assert_eq!(get(&served, "/api/v1/ports/Atlantis/hours").status, 404);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let response = agent()
            .run(
                ureq::http::Request::builder()
                    .method(method)
                    .uri(served.url("/api/v1/trips"))
                    .body(())
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
    }
}

#[test]
fn requests_in_parallel_all_get_answers() {
    let served = Served::start(sample_db(), None);
    let expected = get_ok(&served, "/api/v1/tally?by=port,vessel,month").body;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| scope.spawn(|| get_ok(&served, "/api/v1/tally?by=port,vessel,month").body))
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), expected);
        }
    });
}

#[test]
fn shutdown_is_prompt_and_final() {
    let mut served = Served::start(sample_db(), None);
    get_ok(&served, "/api/v1/trips");
    let started = std::time::Instant::now();
    served.shut_down().expect("the server ends cleanly");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(std::net::TcpStream::connect_timeout(&served.addr, Duration::from_secs(1)).is_err());
}

/// The sample plus one watched tanker that fell silent near Vostochny at the end of it: the
/// sample itself ends with nobody dark.
fn dark_now_db(dir: &Path) -> PathBuf {
    let db = dir.join("dark.db");
    std::fs::copy(sample_db(), &db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO gaps SELECT mmsi, 1711300000000, NULL, 'open', watched, port, from_lat, from_lon, NULL, NULL,
             12.5, NULL, NULL, detour_nm, slack_hours, coverage, 1, imo, name, callsign, ship_type,
             draught_before, NULL, NULL, NULL, NULL, NULL, '[]', candidates, segment
         FROM gaps WHERE mmsi = 445126000 AND status = 'trip' ORDER BY dark_from DESC LIMIT 1",
        [],
    )
    .unwrap();
    db
}

#[test]
fn dark_now_lists_open_gaps_near_covered_ports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dark_now_db(dir.path());
    let served = Served::start(&db, None);
    let dark = get_ok(&served, "/api/v1/dark-now");
    assert_eq!(dark.total, Some(1));
    let record = &dark.json()[0];
    assert_eq!(
        (record["mmsi"].as_u64(), record["status"].as_str()),
        (Some(445126000), Some("open"))
    );
    assert_eq!(record["dark_now"], true);
    assert_eq!(record["dark_until"], Value::Null);
    assert_eq!(
        get_ok(&served, "/api/v1/dark-now?port=Nakhodka").total,
        Some(0)
    );
    let ports = get_ok(&served, "/api/v1/ports").json();
    let vostochny = ports
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Vostochny")
        .unwrap();
    assert_eq!(vostochny["dark_now"], 1);
}

#[test]
fn a_token_guards_the_api_but_not_the_page() {
    let served = Served::start(sample_db(), Some(TOKEN));
    let missing = get(&served, "/api/v1/trips");
    assert_eq!(missing.status, 401);
    assert!(missing.json()["error"].as_str().unwrap().contains("Bearer"));
    for wrong in [
        "Bearer wrong",
        "Bearer test-token-for-the-api-012345678",
        "Basic dGVzdA==",
        TOKEN,
    ] {
        assert_eq!(
            get_with(&served.url("/api/v1/trips"), Some(wrong)).status,
            401,
            "{wrong}"
        );
    }
    let admitted = get_with(
        &served.url("/api/v1/trips"),
        Some(&format!("Bearer {TOKEN}")),
    );
    assert_eq!(admitted.status, 200);
    assert_eq!(admitted.total, Some(14));
    assert_eq!(
        get(&served, "/").status,
        200,
        "the page holds no data and loads without the token"
    );
    assert_eq!(get(&served, "/assets/app.js").status, 200);
}

#[test]
fn public_addresses_need_a_token_to_start() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = runtime.block_on(api::bind("0.0.0.0:0", None)).unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains("0.0.0.0:0") && message.contains("token"),
        "{message}"
    );
    let token = AccessToken::new(TOKEN, "test").unwrap();
    let listener = runtime
        .block_on(api::bind("0.0.0.0:0", Some(&token)))
        .expect("a token allows it");
    drop(listener);
    runtime
        .block_on(api::bind("localhost:0", None))
        .expect("loopback by name needs none");

    let output = aisgap()
        .args(["serve", "--listen", "0.0.0.0:0", "--db"])
        .arg(sample_db())
        .env_remove("AISGAP_API_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0") && stderr.contains("--token-file"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let weak = dir.path().join("token");
    std::fs::write(&weak, "abc\n").unwrap();
    let output = aisgap()
        .args(["serve", "--listen", "0.0.0.0:0", "--token-file"])
        .arg(&weak)
        .arg("--db")
        .arg(sample_db())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&weak.display().to_string()) && stderr.contains("at least 16"),
        "{stderr}"
    );
}

#[test]
fn the_page_is_self_contained() {
    let served = Served::start(sample_db(), None);
    let page = get_ok(&served, "/");
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    let csp = agent().get(&served.url("/")).call().unwrap();
    let policy = csp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"),
        "{policy}"
    );
    for (path, media_type) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/land.json", "application/geo+json"),
    ] {
        let asset = get_ok(&served, path);
        assert_eq!(asset.content_type, media_type, "{path}");
        // Nothing the page loads may name another host; the SVG namespace is an identifier.
        let outside: Vec<&str> = asset
            .body
            .match_indices("http")
            .map(|(i, _)| &asset.body[i..(i + 40).min(asset.body.len())])
            .filter(|s| s.starts_with("http:") || s.starts_with("https:"))
            .filter(|s| !s.starts_with("http://www.w3.org/2000/svg"))
            .collect();
        assert!(outside.is_empty(), "{path} reaches out: {outside:?}");
    }
    assert!(!page.body.contains("http:") && !page.body.contains("https:"));
    let land = get_ok(&served, "/assets/land.json").json();
    assert!(land["source"].as_str().unwrap().contains("Natural Earth"));
    assert!(land["license"]
        .as_str()
        .unwrap()
        .contains("Michael Bostock"));
    assert!(
        land["features"][0]["geometry"]["coordinates"]
            .as_array()
            .unwrap()
            .len()
            > 50
    );
}

// ---- the OpenAPI description, kept in step with the code ----------------------------------

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &document["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Every key of `value` is a documented property, every required property is present, and
/// nested records are checked the same way.
fn check_against(document: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(document, schema);
    if schema["type"] == "array" {
        for (i, item) in value
            .as_array()
            .unwrap_or_else(|| panic!("{at}: not an array"))
            .iter()
            .enumerate()
        {
            check_against(document, &schema["items"], item, &format!("{at}[{i}]"));
        }
        return;
    }
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object: {value}"));
    for key in object.keys() {
        assert!(
            properties.contains_key(key),
            "{at}: field {key} is not in the OpenAPI schema"
        );
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap();
        assert!(
            object.contains_key(name),
            "{at}: documented field {name} is missing"
        );
    }
    for (key, property) in properties {
        if let Some(nested) = object.get(key) {
            if property.get("$ref").is_some() || property["type"] == "array" {
                check_against(document, property, nested, &format!("{at}.{key}"));
            }
        }
    }
}

fn example_path(path: &str) -> String {
    if path.starts_with("/api/v1/report/encounter/") {
        // 445126000's first encounter in the sample, with 445114000, starts at this time.
        return path
            .replace("{mmsi}", "445126000")
            .replace("{time}", "2024-03-04T00:39:14Z")
            .replace("{with}", "445114000");
    }
    // 445126000's first trip in the sample starts at this fix A.
    path.replace("{mmsi}", "445126000")
        .replace("{name}", "Vostochny")
        .replace("{time}", "2024-03-06T05:14:35Z")
}

#[test]
fn openapi_describes_every_route_and_every_answer() {
    let served = Served::start(sample_db(), None);
    let document = get_ok(&served, "/api/v1/openapi.json").json();
    assert_eq!(document["openapi"], "3.1.0");
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mounted: BTreeSet<String> = routes::api_routes()
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    let table: BTreeSet<String> = api::ENDPOINTS.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        documented, mounted,
        "OpenAPI paths and mounted routes differ"
    );
    assert_eq!(table, mounted);

    for (path, item) in document["paths"].as_object().unwrap() {
        let operation = &item["get"];
        let url = example_path(path);
        let answer = get_ok(&served, &url);
        let ok = &operation["responses"]["200"];
        if ok["content"].get("text/html").is_some() {
            // A page, not a record: it must be one, and there is no JSON schema to check.
            assert!(
                answer.body.starts_with("<!DOCTYPE html>"),
                "{path}: {}",
                answer.body
            );
            continue;
        }
        let json_schema = &ok["content"]["application/json"]["schema"];
        check_against(&document, json_schema, &answer.json(), path);
        let parameters = operation["parameters"].as_array().unwrap();
        for parameter in parameters.iter().filter(|p| p["in"] == "query") {
            let name = parameter["name"].as_str().unwrap();
            let example = parameter["example"].as_str().unwrap();
            let separator = if url.contains('?') { '&' } else { '?' };
            let with = get(&served, &format!("{url}{separator}{name}={example}"));
            assert_eq!(
                with.status, 200,
                "{path} with its documented {name}={example}: {}",
                with.body
            );
            if name == "format" {
                for format in parameter["schema"]["enum"].as_array().unwrap() {
                    let format = format.as_str().unwrap();
                    let answer = get_ok(&served, &format!("{url}{separator}format={format}"));
                    let media_type = answer.content_type.split(';').next().unwrap().to_string();
                    assert!(
                        ok["content"].get(&media_type).is_some(),
                        "{path}?format={format} answers {media_type}, not documented"
                    );
                }
            }
        }
        let undocumented = get(
            &served,
            &format!(
                "{url}{}undocumented=1",
                if url.contains('?') { '&' } else { '?' }
            ),
        );
        assert_eq!(
            undocumented.status, 400,
            "{path} takes a parameter it does not document"
        );
    }
    // Nested records seen only with other groupings or windows.
    let tally = get_ok(&served, "/api/v1/tally?by=port,vessel,month").json();
    check_against(
        &document,
        &json!({ "type": "array", "items": { "$ref": "#/components/schemas/TallyRow" } }),
        &tally,
        "tally",
    );
    for key in ["port", "mmsi", "name", "month"] {
        assert!(
            tally[0].get(key).is_some(),
            "tally by port,vessel,month lacks {key}"
        );
    }
    let gaps = get_ok(&served, "/api/v1/gaps").json();
    check_against(
        &document,
        &json!({ "type": "array", "items": { "$ref": "#/components/schemas/Gap" } }),
        &gaps,
        "gaps",
    );
}

// ---- the page in headless Chromium --------------------------------------------------------

pub(crate) mod browser {
    use super::*;
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    const CHROMIUM: &str = "/usr/bin/chromium";
    const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

    /// Chromium and its WebDriver, installed from Debian's packages when missing and running
    /// as root (as CI does); anyone else is told what to install. Never skips.
    pub(crate) fn ensure_browser() {
        if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
            return;
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        assert!(
            root,
            "the browser test needs Chromium and its WebDriver: install the Debian packages \
             `chromium` and `chromium-driver` (apt-get install chromium chromium-driver)"
        );
        for args in [
            vec!["update"],
            vec![
                "install",
                "-y",
                "--no-install-recommends",
                "chromium",
                "chromium-driver",
            ],
        ] {
            let status = Command::new("apt-get")
                .args(&args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .expect("running apt-get");
            assert!(
                status.success(),
                "apt-get {} failed: {status}",
                args.join(" ")
            );
        }
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "apt-get installed chromium and chromium-driver but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
    }

    /// chromedriver on a loopback port, ended (by its own id) when dropped.
    pub(crate) struct Driver {
        child: Child,
        base: String,
        session: Option<String>,
        _profile: tempfile::TempDir,
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            if let Some(session) = self.session.take() {
                let _ = agent()
                    .delete(&format!("{}/session/{session}", self.base))
                    .call();
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub(crate) fn post(url: &str, body: &Value) -> Value {
        let mut response = agent()
            .post(url)
            .header("content-type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap();
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("POST {url}: {text}"));
        assert!(
            response.status().is_success(),
            "WebDriver POST {url} {body}: {}",
            value["value"]
        );
        value["value"].clone()
    }

    impl Driver {
        pub(crate) fn start() -> Driver {
            let port = free_port();
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting chromedriver");
            let base = format!("http://127.0.0.1:{port}");
            let profile = tempfile::tempdir().unwrap();
            let mut driver = Driver {
                child,
                base,
                session: None,
                _profile: profile,
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let ready = agent()
                    .get(&format!("{}/status", driver.base))
                    .call()
                    .ok()
                    .and_then(|mut r| r.body_mut().read_to_string().ok())
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .is_some_and(|v| v["value"]["ready"] == true);
                if ready {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "chromedriver did not become ready in 20 s"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            let args = [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,1400",
            ]
            .iter()
            .map(|a| a.to_string())
            .chain([format!(
                "--user-data-dir={}",
                driver._profile.path().display()
            )])
            .collect::<Vec<_>>();
            let session = post(
                &format!("{}/session", driver.base),
                &json!({ "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                } } }),
            );
            driver.session = Some(
                session["sessionId"]
                    .as_str()
                    .expect("a session id")
                    .to_string(),
            );
            driver
        }

        pub(crate) fn url(&self, path: &str) -> String {
            format!(
                "{}/session/{}{path}",
                self.base,
                self.session.as_deref().unwrap()
            )
        }

        pub(crate) fn go(&self, url: &str) {
            post(&self.url("/url"), &json!({ "url": url }));
        }

        pub(crate) fn script(&self, body: &str) -> Value {
            post(
                &self.url("/execute/sync"),
                &json!({ "script": body, "args": [] }),
            )
        }

        /// Polls `body` (a script returning a value) until it is truthy; bounded.
        pub(crate) fn wait_for(&self, what: &str, body: &str) -> Value {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let value = self.script(body);
                if !(value.is_null() || value == false || value == "") {
                    return value;
                }
                assert!(Instant::now() < deadline, "waited 20 s for {what}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        pub(crate) fn click(&self, css: &str) {
            let found = post(
                &self.url("/element"),
                &json!({ "using": "css selector", "value": css }),
            );
            let id = found
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no element {css}"))
                .to_string();
            post(&self.url(&format!("/element/{id}/click")), &json!({}));
        }

        fn type_into(&self, css: &str, text: &str) {
            let found = post(
                &self.url("/element"),
                &json!({ "using": "css selector", "value": css }),
            );
            let id = found
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no element {css}"))
                .to_string();
            post(
                &self.url(&format!("/element/{id}/value")),
                &json!({ "text": text }),
            );
        }

        pub(crate) fn screenshot(&self) -> Vec<u8> {
            let mut response = agent().get(&self.url("/screenshot")).call().unwrap();
            let text = response
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .unwrap();
            let value: Value = serde_json::from_str(&text).unwrap();
            base64_decode(value["value"].as_str().expect("a screenshot"))
        }
    }

    pub(crate) fn base64_decode(text: &str) -> Vec<u8> {
        let value = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => u32::from(c - b'A'),
                b'a'..=b'z' => u32::from(c - b'a') + 26,
                b'0'..=b'9' => u32::from(c - b'0') + 52,
                b'+' => 62,
                b'/' => 63,
                _ => panic!("not base64: {c}"),
            }
        };
        let clean: Vec<u8> = text
            .bytes()
            .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
            .collect();
        let mut out = Vec::with_capacity(clean.len() * 3 / 4);
        for chunk in clean.chunks(4) {
            let mut bits = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                bits |= value(*c) << (18 - 6 * i);
            }
            let bytes = bits.to_be_bytes();
            out.extend_from_slice(&bytes[1..chunk.len()]);
        }
        out
    }

    #[test]
    fn base64_round_trip_of_a_known_text() {
        assert_eq!(base64_decode("aGVsbG8gbWFw"), b"hello map");
        assert_eq!(base64_decode("aGk="), b"hi");
        assert_eq!(base64_decode("aGVsbG8="), b"hello");
    }

    #[test]
    fn the_map_page_shows_the_sample_and_selects_a_clicked_trip() {
        ensure_browser();
        let started = Instant::now();
        let served = Served::start(sample_db(), None);
        let trips = get_ok(&served, "/api/v1/trips").json();
        let keys: BTreeSet<String> = trip_keys(&trips).into_iter().collect();
        let tally = get_ok(&served, "/api/v1/tally?by=port,month").json();
        let tally_total: u64 = tally
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["trips"].as_u64().unwrap())
            .sum();
        assert_eq!(tally_total, 14);

        let driver = Driver::start();
        driver.go(&served.url("/"));
        let ready = driver.wait_for(
            "the page to load its data",
            "return document.body.dataset.ready",
        );
        assert_eq!(
            ready,
            "true",
            "status line: {}",
            driver.script("return document.getElementById('status').textContent")
        );

        // The map: one group per trip with fix A, fix B and the dashed leg; land drawn.
        let on_map = driver.script(
            "return [...document.querySelectorAll('#layer-trips g.trip')].map(g => [g.dataset.trip, \
             g.querySelectorAll('circle.fix-a').length, g.querySelectorAll('circle.fix-b').length, \
             g.querySelectorAll('line.leg').length])",
        );
        let drawn: BTreeSet<String> = on_map
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(
                    (t[1].as_u64(), t[2].as_u64(), t[3].as_u64()),
                    (Some(1), Some(1), Some(1)),
                    "{t}"
                );
                t[0].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(drawn, keys, "the map's trips are the API's");
        let tracks =
            driver.script("return document.querySelectorAll('#layer-tracks path.track').length");
        assert_eq!(
            tracks.as_u64(),
            Some(keys.len() as u64),
            "a track around every trip"
        );
        let land = driver
            .script("return document.querySelector('#layer-land path').getAttribute('d').length");
        assert!(land.as_u64().unwrap() > 10_000, "coastlines drawn: {land}");
        let ports =
            driver.script("return document.querySelectorAll('#layer-ports g.port path').length");
        assert_eq!(
            ports.as_u64(),
            Some(15),
            "5 ports with approach, coverage and zone"
        );

        // The chart's bars add up to the tally, and the table lists every trip.
        let bars = driver.script(
            "return [...document.querySelectorAll('#chart rect.bar')].map(r => Number(r.dataset.trips))",
        );
        let bar_sum: u64 = bars
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap())
            .sum();
        assert_eq!(bar_sum, tally_total, "bars {bars}");
        assert_eq!(
            bars.as_array().unwrap().len(),
            tally.as_array().unwrap().len()
        );
        let rows = driver.script("return document.querySelectorAll('#trips tbody tr').length");
        assert_eq!(rows.as_u64(), Some(14));

        // A real click on a row selects the trip: map, table, evidence and URL agree.
        let chosen = trips[12].clone();
        let key = format!(
            "{}@{}",
            chosen["mmsi"],
            chosen["dark_from"].as_str().unwrap()
        );
        driver.click(&format!("#trips tbody tr[data-trip=\"{key}\"]"));
        let track = driver.wait_for(
            "the selected trip's track",
            "return document.body.dataset.selectedTrack",
        );
        assert!(
            track.as_str().unwrap().parse::<u64>().unwrap() > 10,
            "track points {track}"
        );
        let selected = driver.script(
            "return [document.querySelector('#layer-trips g.trip.selected').dataset.trip, \
             document.querySelector('#trips tr.selected').dataset.trip, location.hash, \
             document.querySelector('#evidence h2').textContent, \
             document.querySelector('#evidence').textContent, \
             document.querySelectorAll('#layer-selection path.selection-track').length]",
        );
        assert_eq!(selected[0], key.as_str());
        assert_eq!(selected[1], key.as_str());
        assert_eq!(selected[2], format!("#trip={key}"));
        let name = chosen["name"].as_str().unwrap();
        assert!(selected[3].as_str().unwrap().contains(name), "{selected}");
        let evidence = selected[4].as_str().unwrap();
        for words in [
            "Draught",
            "Estimated cargo",
            "Candidate port",
            "Vostochny",
            "barrels",
        ] {
            assert!(
                evidence.contains(words),
                "evidence lacks {words}: {evidence}"
            );
        }
        assert!(
            selected[5].as_u64().unwrap() >= 1,
            "track drawn around the selected trip"
        );
        // The row click scrolled the table into view; the picture is of the map and evidence.
        driver.script("window.scrollTo(0, 0); return true");
        let shot = driver.screenshot();
        assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("map.png");
        std::fs::write(&out, &shot).unwrap();
        if std::env::var_os("AISGAP_UPDATE_SCREENSHOT").is_some() {
            let docs = repo_path("docs/map.png");
            std::fs::write(&docs, &shot).unwrap();
        }

        // Clicking a trip on the map selects it too.
        let other = trips[3].clone();
        let other_key = format!("{}@{}", other["mmsi"], other["dark_from"].as_str().unwrap());
        driver.go(&served.url(&format!("/#trip={other_key}")));
        driver.wait_for("the page to reload", "return document.body.dataset.ready");
        let via_hash = driver.wait_for("the hash route", "return document.body.dataset.selected");
        assert_eq!(via_hash, other_key.as_str(), "#trip= selects the trip");
        driver.script("document.getElementById('zoom-fit').click(); return true");
        driver.click(&format!(
            "#layer-trips g.trip[data-trip=\"{key}\"] circle.fix-a"
        ));
        let clicked = driver.wait_for(
            "a map click to select",
            &format!("return document.body.dataset.selected === '{key}' && document.body.dataset.selected"),
        );
        assert_eq!(clicked, key.as_str());

        // The filters narrow the table and the map together.
        driver.script("const s = document.getElementById('f-confidence'); s.value = 'medium'; s.dispatchEvent(new Event('change', {bubbles: true})); return true");
        let medium = trips
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["confidence"] == "medium")
            .count();
        let shown = driver.script(
            "return [document.querySelectorAll('#trips tbody tr').length, \
             document.querySelectorAll('#layer-trips g.trip:not(.hidden)').length]",
        );
        assert_eq!(shown, json!([medium, medium]));

        // A vessel dark now is marked on the map and listed.
        let dir = tempfile::tempdir().unwrap();
        let dark = Served::start(&dark_now_db(dir.path()), None);
        driver.go(&dark.url("/"));
        driver.wait_for("the page to load", "return document.body.dataset.ready");
        let marked = driver.script(
            "return [document.querySelectorAll('#layer-dark-now g.dark-now-vessel circle.dark-ring').length, \
             document.querySelectorAll('#dark-now-list button').length, \
             document.querySelector('#dark-now-list').textContent]",
        );
        assert_eq!(
            (marked[0].as_u64(), marked[1].as_u64()),
            (Some(1), Some(1)),
            "{marked}"
        );
        assert!(
            marked[2]
                .as_str()
                .unwrap()
                .contains("BYOL SO 1 near Vostochny"),
            "{marked}"
        );

        // Behind a token the page asks for it, then loads the same data.
        let guarded = Served::start(sample_db(), Some(TOKEN));
        driver.go(&guarded.url("/"));
        let refused = driver.wait_for(
            "the page to meet the token check",
            "return document.body.dataset.ready",
        );
        assert_eq!(refused, "error");
        assert_eq!(
            driver.script("return document.getElementById('token-form').hidden"),
            false
        );
        driver.type_into("#token-input", TOKEN);
        driver.click("#token-form button[type=submit]");
        let admitted = driver.wait_for(
            "the page to load with the token",
            "return document.body.dataset.ready === 'true' && document.querySelectorAll('#trips tbody tr').length",
        );
        assert_eq!(admitted.as_u64(), Some(14));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "browser test took {:?}",
            started.elapsed()
        );
        eprintln!("screenshot: {}", out.display());
    }
}

#[test]
fn aisgap_serve_answers_and_stops_on_term() {
    use std::io::BufRead;
    let mut child = aisgap()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(sample_db())
        .env("RUST_LOG", "info")
        .env_remove("AISGAP_API_TOKEN")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting aisgap serve");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut port = None;
    for _ in 0..50 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(at) = line.find("127.0.0.1:") {
            let digits: String = line[at + 10..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            port = digits.parse::<u16>().ok();
            break;
        }
    }
    let Some(port) = port else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("aisgap serve did not log its address");
    };
    let answer = get_with(
        &format!("http://127.0.0.1:{port}/api/v1/trips?limit=1"),
        None,
    );
    assert_eq!((answer.status, answer.total), (200, Some(14)));
    // SAFETY: signalling our own child by its id.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("aisgap serve did not stop within 10 s of TERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// One GET with the `Host` header given: the status code.
fn status_with_host(addr: SocketAddr, host: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /api/v1/summary HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn without_a_token_only_loopback_host_names_are_served() {
    let served = Served::start(sample_db(), None);
    let port = served.addr.port();
    assert_eq!(status_with_host(served.addr, "evil.example"), 421);
    assert_eq!(
        status_with_host(served.addr, &format!("evil.example:{port}")),
        421
    );
    assert_eq!(
        status_with_host(served.addr, &format!("127.0.0.1:{port}")),
        200
    );
    assert_eq!(
        status_with_host(served.addr, &format!("localhost:{port}")),
        200
    );
    let guarded = Served::start(sample_db(), Some("s3cret-token-0123456789"));
    // With a token the token decides, whatever the name.
    assert_eq!(status_with_host(guarded.addr, "evil.example"), 401);
}

#[test]
fn out_of_range_numbers_are_usage_errors_in_aisgap_query() {
    let db = sample_db().to_str().unwrap();
    for (args, named) in [
        (&["--offset", "9223372036854775808"][..], "--offset"),
        (&["--limit", "9223372036854775808"][..], "--limit"),
        (&["--mmsi", "4294967295"][..], "--mmsi"),
        (&["--since", "9223372036854775807"][..], "--since"),
    ] {
        let out = crate::support::aisgap()
            .args(["query", "trips", "--db", db])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(named) && !stderr.contains("datatype mismatch"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn the_judgement_history_is_that_of_aisgap_query_history() {
    let served = Served::start(sample_db(), None);
    let trips = cli_json(&["trips", "--format", "json"]);
    let mmsi = trips[0]["mmsi"].to_string();
    let answer = get_ok(&served, &format!("/api/v1/history?mmsi={mmsi}"));
    let history = answer.json();
    assert_eq!(history, cli_json(&["history", &mmsi, "--format", "json"]));
    let rows = history.as_array().expect("an array");
    assert_eq!(answer.total, Some(rows.len() as u64));
    let dark_from = trips[0]["dark_from"].as_str().unwrap();
    let last = rows
        .iter()
        .rfind(|r| r["dark_from"] == dark_from)
        .expect("the trip has a history");
    assert_eq!(last["status"], "trip");
    assert_eq!(last["reason"], "closed");
    let csv = get_ok(
        &served,
        &format!("/api/v1/history?mmsi={mmsi}&format=csv&limit=1"),
    );
    assert!(
        csv.body.starts_with(aisgap::query::HISTORY_CSV_HEADER),
        "{}",
        csv.body
    );
    assert_eq!(csv.body.lines().count(), 2);
    assert_eq!(csv.total, Some(rows.len() as u64));
}
