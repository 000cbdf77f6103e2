//! Datagrams lost before the service reads them: a flood on loopback into a UDP source with a
//! small receive buffer overflows it, and the kernel's count of what it dropped reaches
//! `aisgap_source_dropped_total{reason="kernel_overflow"}`, so that sent = read + dropped.

use std::net::UdpSocket;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{aisgap, free_port, http_get, metric, repo_path};

/// One sentence a datagram, as AIS-catcher sends them.
const SENTENCE: &[u8] = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24";
const FLOOD: u64 = 60_000;

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn kernel_drops_of_a_flooded_udp_source_are_counted_so_sent_equals_read_plus_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (http, udp) = (format!("127.0.0.1:{}", free_port()), free_udp_port());
    let config = dir.path().join("aisgap.toml");
    std::fs::write(
        &config,
        format!(
            "[ports]\nfile = {ports:?}\n\n[store]\ndb = {db:?}\n\n[http]\nlisten = \"{http}\"\n\n[[source]]\nname = \"radio\"\nkind = \"udp\"\naddress = \"127.0.0.1:{udp}\"\nreceive_buffer_kb = 4\n",
            ports = repo_path("config/ports.geojson"),
            db = dir.path().join("service.db"),
        ),
    )
    .unwrap();
    let mut service = aisgap()
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting aisgap run");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&http).is_err() || http_get(&http, "/readyz").0 != 200 {
        assert!(Instant::now() < deadline, "not ready within 20 s");
        assert!(service.try_wait().unwrap().is_none(), "the service exited");
        thread::sleep(Duration::from_millis(50));
    }

    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..FLOOD {
        sender.send_to(SENTENCE, ("127.0.0.1", udp)).unwrap();
    }
    // The kernel tells its count with the next datagram it queues: once the flood is read,
    // one more carries the final count.
    thread::sleep(Duration::from_millis(500));
    sender.send_to(SENTENCE, ("127.0.0.1", udp)).unwrap();
    let sent = FLOOD + 1;

    let series = |page: &str, name: &str| metric(page, name).unwrap_or(0.0) as u64;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (read, pipeline_full, kernel) = loop {
        let page = http_get(&http, "/metrics").1;
        let read = series(&page, "aisgap_source_lines_total{source=\"radio\"}");
        let pipeline_full = series(
            &page,
            "aisgap_source_dropped_total{source=\"radio\",reason=\"pipeline_full\"}",
        );
        let kernel = series(
            &page,
            "aisgap_source_dropped_total{source=\"radio\",reason=\"kernel_overflow\"}",
        );
        if read + pipeline_full + kernel >= sent || Instant::now() > deadline {
            break (read, pipeline_full, kernel);
        }
        thread::sleep(Duration::from_millis(100));
    };
    let _ = service.kill();
    let _ = service.wait();
    eprintln!(
        "sent {sent}: read {read}, dropped {pipeline_full} (pipeline full) + {kernel} (kernel)"
    );
    assert!(
        kernel > 0,
        "a 4 KiB buffer under {FLOOD} datagrams overflows"
    );
    assert_eq!(
        read + pipeline_full + kernel,
        sent,
        "every datagram sent is read or counted as dropped"
    );
}
