//! SIGHUP: the configuration read again and applied to everything that can change while the
//! service runs (sources and their listening addresses, each source's decoder, detection, the
//! ports and watchlist), with one rule from the log shippers: a source that cannot take its new
//! settings (its new address cannot be bound) keeps the ones it runs with, and the reload says so.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::source::{RawLine, SourceKind, SourceSpec};

use super::http::ServiceState;
use super::notify::Notifier;
use super::pipeline::Control;
use super::Sources;

/// What a reload did to one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SourceChange {
    Started,
    /// Its I/O settings changed: stopped and started with the new ones.
    Restarted,
    /// Only decoder settings changed (or nothing): it runs on undisturbed.
    Kept,
    Stopped,
    /// The new settings could not be applied; the source runs with its previous ones (or, if
    /// it is new, does not run).
    Failed(String),
}

/// The socket a source listens on, if it listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Listening {
    Tcp(SocketAddr),
    Udp(SocketAddr),
}

impl Listening {
    pub(super) fn of(spec: &SourceSpec) -> Option<Listening> {
        match spec.kind {
            SourceKind::TcpListen { address, .. } => Some(Listening::Tcp(address)),
            SourceKind::Udp { address } => Some(Listening::Udp(address)),
            _ => None,
        }
    }

    /// Binds the address and lets it go at once: whether the source will be able to listen
    /// there. The source binds it again a moment later; a port taken in between is retried by
    /// the source itself, as at startup.
    pub(super) fn probe(self) -> std::io::Result<()> {
        match self {
            Listening::Tcp(address) => TcpListener::bind(address).map(drop),
            Listening::Udp(address) => UdpSocket::bind(address).map(drop),
        }
    }

    /// Whether the two can clash on one host: the same protocol and port (a wildcard address
    /// holds the port on every interface).
    pub(super) fn shares_port_with(self, other: Listening) -> bool {
        match (self, other) {
            (Listening::Tcp(a), Listening::Tcp(b)) | (Listening::Udp(a), Listening::Udp(b)) => {
                a.port() == b.port()
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listening::Tcp(address) => write!(f, "tcp {address}"),
            Listening::Udp(address) => write!(f, "udp {address}"),
        }
    }
}

/// Whether two settings of a source differ in anything the source itself uses; `station` and
/// `trust_data_time` are the decoder's, which the pipeline rebuilds without touching the
/// connection.
pub(super) fn same_io(a: &SourceSpec, b: &SourceSpec) -> bool {
    let decoder_free = |spec: &SourceSpec| SourceSpec {
        station: None,
        trust_data_time: true,
        ..spec.clone()
    };
    decoder_free(a) == decoder_free(b)
}

/// Reads the configuration at `config_path` again and applies it; on a configuration that does
/// not load, nothing changes. `config` becomes what is in force: the new configuration, except
/// for the sources that kept their previous settings.
pub(super) async fn reload(
    config_path: &Path,
    config: &mut Config,
    sources: &mut Sources,
    lines: &tokio::sync::mpsc::Sender<RawLine>,
    state: &ServiceState,
    control: &std::sync::mpsc::Sender<Control>,
    notifier: &Notifier,
) {
    notifier.send("RELOADING=1");
    let mut new = match Config::load(config_path) {
        Ok(new) => new,
        Err(errors) => {
            for problem in &errors.problems {
                tracing::error!("{problem}");
            }
            tracing::error!(
                problems = errors.problems.len(),
                "Reload refused; the running configuration stays in force."
            );
            notifier.send("READY=1\nSTATUS=Reload refused; see the log.");
            return;
        }
    };
    if new.store.db != config.store.db {
        tracing::warn!(db = %new.store.db.display(), "A new database path takes effect only after a restart.");
    }
    if new.alerts != config.alerts {
        tracing::warn!("New [alerts] settings take effect only after a restart.");
    }
    if new.store.commit_interval_ms != config.store.commit_interval_ms {
        tracing::warn!(
            commit_interval_ms = new.store.commit_interval_ms,
            "A new commit interval takes effect only after a restart."
        );
    }
    if new.http != config.http {
        tracing::warn!(listen = %new.http.listen, "A new HTTP address takes effect only after a restart.");
    }
    let (in_force, changes) = sources.apply(&new.sources, lines, state, true).await;
    new.sources = in_force;
    let failed: Vec<&str> = changes
        .iter()
        .filter_map(|(name, change)| match change {
            SourceChange::Failed(_) => Some(&**name),
            _ => None,
        })
        .collect();
    let _ = control.send(Control::Reconfigure(Box::new(new.clone())));
    *config = new;
    if failed.is_empty() {
        tracing::info!(
            sources = config.sources.len(),
            ports = config.ports.len(),
            "Configuration reloaded."
        );
        notifier.send("READY=1\nSTATUS=Configuration reloaded.");
    } else {
        let failed = failed.join(", ");
        tracing::error!(
            failed = %failed,
            sources = config.sources.len(),
            ports = config.ports.len(),
            "Configuration reloaded except for sources that could not take their new settings; they keep their previous ones."
        );
        notifier.send(&format!(
            "READY=1\nSTATUS=Reloaded except sources {failed}; see the log."
        ));
    }
}

/// One line of the reload's account per source that changed.
pub(super) fn log_change(name: &Arc<str>, change: &SourceChange) {
    match change {
        SourceChange::Started => tracing::info!(source = %name, "Source started."),
        SourceChange::Restarted => {
            tracing::info!(source = %name, "Source restarted with its new settings.")
        }
        SourceChange::Kept => {}
        SourceChange::Stopped => tracing::info!(source = %name, "Source stopped (removed)."),
        SourceChange::Failed(why) => tracing::error!(
            source = %name,
            error = %why,
            "Source not reloaded; it keeps its previous settings."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_address_is_found_busy_and_a_free_one_free() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = Listening::Tcp(held.local_addr().unwrap());
        assert!(busy.probe().is_err());
        let free = Listening::Tcp("127.0.0.1:0".parse().unwrap());
        assert!(free.probe().is_ok());
        let udp = Listening::Udp(held.local_addr().unwrap());
        assert!(!udp.shares_port_with(busy), "TCP and UDP ports are apart");
        assert!(busy.shares_port_with(Listening::Tcp(SocketAddr::from((
            [0, 0, 0, 0],
            held.local_addr().unwrap().port()
        )))));
    }

    #[test]
    fn station_and_data_time_are_the_decoders_not_the_sources() {
        let address = "127.0.0.1:5000".parse().unwrap();
        let spec = SourceSpec::new(
            "feed",
            SourceKind::TcpListen {
                address,
                max_clients: 4,
            },
        );
        let mut renamed = spec.clone();
        renamed.station = Some("ST-B".into());
        renamed.trust_data_time = false;
        assert!(same_io(&spec, &renamed));
        let mut moved = spec.clone();
        moved.kind = SourceKind::TcpListen {
            address: "127.0.0.1:5001".parse().unwrap(),
            max_clients: 4,
        };
        assert!(!same_io(&spec, &moved));
    }
}
