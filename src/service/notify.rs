//! The service manager's notification socket (`sd_notify`): readiness, reload, stopping and
//! watchdog pings, written as datagrams to `$NOTIFY_SOCKET` when systemd set it.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Where to tell the service manager about our state; absent outside systemd.
pub struct Notifier {
    socket: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET`: a path, or an abstract name when it starts with `@`.
    pub fn from_env() -> Notifier {
        let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
            return Notifier { socket: None };
        };
        let target = target.to_string_lossy().into_owned();
        let address = if let Some(name) = target.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        } else {
            std::os::unix::net::SocketAddr::from_pathname(&target)
        };
        let socket = match (UnixDatagram::unbound(), address) {
            (Ok(socket), Ok(address)) => Some((socket, address)),
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(socket = %target, %error, "NOTIFY_SOCKET is not usable; the service manager will not hear from us.");
                None
            }
        };
        Notifier { socket }
    }

    /// Sends one state message, e.g. `READY=1`. Failures are logged, never fatal.
    pub fn send(&self, state: &str) {
        if let Some((socket, address)) = &self.socket {
            if let Err(error) = socket.send_to_addr(state.as_bytes(), address) {
                tracing::debug!(%error, state, "Notification not delivered.");
            }
        }
    }
}

/// How often to ping the watchdog: half of `$WATCHDOG_USEC` when it is set for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}
