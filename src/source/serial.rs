//! Serial device source: an AIS receiver on `/dev/ttyUSB0` and the like, set raw at the
//! configured baud rate through termios on the open descriptor (no udev, no extra system
//! library), read without blocking a thread, and reopened when it goes away or falls silent.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::io::{AsyncRead, ReadBuf};
use tracing::{info, warn};

use crate::source::backoff::{seconds, sleep_or_stop, Backoff};
use crate::source::emitter::Emitter;
use crate::source::error::SourceError;
use crate::source::framer::LineFramer;
use crate::source::metrics::{Opened, SourceMetrics};
use crate::source::spec::SourceSpec;
use crate::source::stream::{pump_stream, StreamEnd};

/// Baud rates the source can set; AIS receivers use 38400 (some 4800 or 115200).
pub const SUPPORTED_BAUDS: [u32; 9] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400];

fn speed_of(baud: u32) -> Option<libc::speed_t> {
    Some(match baud {
        1200 => libc::B1200,
        2400 => libc::B2400,
        4800 => libc::B4800,
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115200 => libc::B115200,
        230400 => libc::B230400,
        _ => return None,
    })
}

/// A serial device opened for reading, raw, 8N1, no flow control, at the given baud rate.
/// Read-only: the source never writes to the receiver.
#[derive(Debug)]
pub struct SerialPort {
    fd: AsyncFd<File>,
}

impl SerialPort {
    /// Opens and configures `path`. Must run inside a tokio runtime (the descriptor is
    /// registered with it). `ENOTTY` means the path is not a terminal device at all.
    pub fn open(path: &Path, baud: u32) -> io::Result<SerialPort> {
        let speed = speed_of(baud).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("baud {baud} is not one of {SUPPORTED_BAUDS:?}"),
            )
        })?;
        // O_NOCTTY: a receiver must never become the service's controlling terminal.
        // O_NONBLOCK: opening does not wait for carrier, and reads go through the reactor.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)?;
        configure_raw(&file, speed)?;
        // SAFETY: `file` owns its descriptor, which stays open and unchanged until the
        // AsyncFd (which owns `file`) is dropped; nothing else closes or duplicates it.
        let fd = unsafe { AsyncFd::register_with_interest(file, Interest::READABLE)? };
        Ok(SerialPort { fd })
    }
}

fn configure_raw(file: &File, speed: libc::speed_t) -> io::Result<()> {
    let fd = file.as_raw_fd();
    let mut settings = MaybeUninit::<libc::termios>::uninit();
    // SAFETY: `fd` is open for the lifetime of `file`; tcgetattr writes the whole struct when
    // it returns 0, and only then is it read.
    let mut settings = unsafe {
        if libc::tcgetattr(fd, settings.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        settings.assume_init()
    };
    // SAFETY: plain functions on an initialised termios value owned by this frame.
    unsafe {
        libc::cfmakeraw(&mut settings);
        if libc::cfsetispeed(&mut settings, speed) != 0
            || libc::cfsetospeed(&mut settings, speed) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    // Ignore modem lines (many receivers do not wire them), enable the receiver, 8N1 (cfmakeraw
    // set 8 bits, no parity), no hardware flow control.
    settings.c_cflag |= libc::CLOCAL | libc::CREAD;
    settings.c_cflag &= !(libc::CSTOPB | libc::CRTSCTS);
    settings.c_cc[libc::VMIN] = 1;
    settings.c_cc[libc::VTIME] = 0;
    // SAFETY: `fd` is open; `settings` is a valid termios.
    unsafe {
        if libc::tcsetattr(fd, libc::TCSANOW, &settings) != 0 {
            return Err(io::Error::last_os_error());
        }
        // Whatever the device buffered before this open is old news.
        libc::tcflush(fd, libc::TCIFLUSH);
    }
    Ok(())
}

impl AsyncRead for SerialPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|file| file.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(err)) => return Poll::Ready(Err(err)),
                // Readiness was stale; wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

/// Reads the device until shutdown, reopening it after an unplug (read error or end), a
/// stall, or a failed open. Returns an error only when the path is not a serial device or the
/// baud rate cannot be set at all.
pub(crate) async fn run(
    spec: &SourceSpec,
    path: &Path,
    baud: u32,
    out: &Emitter,
) -> Result<(), SourceError> {
    if speed_of(baud).is_none() {
        return Err(SourceError::Unsupported {
            name: spec.name.clone(),
            problem: format!("baud {baud} is not one of {SUPPORTED_BAUDS:?}"),
        });
    }
    let mut backoff = Backoff::new(spec.reconnect, &spec.name);
    let mut framer = LineFramer::new(spec.max_line_bytes);
    loop {
        if out.shutdown.is_cancelled() {
            return Ok(());
        }
        let delay = match SerialPort::open(path, baud) {
            Ok(mut port) => {
                let started = Instant::now();
                let end = {
                    let _open = Opened::new(&out.metrics);
                    info!(source = %spec.name, path = %path.display(), baud, "Serial device opened.");
                    framer.reset();
                    pump_stream(&mut port, &mut framer, out, Some(spec.read_timeout)).await
                };
                backoff.connection_lasted(started.elapsed());
                let delay = backoff.next_delay();
                let retry_in_s = seconds(delay);
                match end {
                    StreamEnd::Stopped => return Ok(()),
                    StreamEnd::Eof => info!(
                        source = %spec.name, path = %path.display(), retry_in_s,
                        "Serial device closed; reopening."
                    ),
                    StreamEnd::Stalled => {
                        SourceMetrics::bump(&out.metrics.stalls);
                        warn!(
                            source = %spec.name, path = %path.display(),
                            silent_s = seconds(spec.read_timeout), retry_in_s,
                            "Serial device went silent; reopening."
                        );
                    }
                    StreamEnd::Failed(err) => {
                        out.error();
                        warn!(
                            source = %spec.name, path = %path.display(), error = %err, retry_in_s,
                            "Serial device failed; reopening."
                        );
                    }
                }
                delay
            }
            Err(err) if err.raw_os_error() == Some(libc::ENOTTY) => {
                out.error();
                return Err(SourceError::Open {
                    name: spec.name.clone(),
                    path: path.to_path_buf(),
                    error: io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "not a serial device (a terminal device is needed)",
                    ),
                });
            }
            Err(err) => {
                out.error();
                let delay = backoff.next_delay();
                warn!(
                    source = %spec.name, path = %path.display(), error = %err,
                    retry_in_s = seconds(delay),
                    "Cannot open serial device; retrying."
                );
                delay
            }
        };
        if sleep_or_stop(delay, &out.shutdown).await {
            return Ok(());
        }
    }
}
