//! UDP listener: AIS-catcher and most SDR decoders send each batch of sentences as one
//! datagram. Senders cannot be slowed down, so when the service falls behind whole datagrams
//! are dropped and counted rather than queued without bound; so are those the kernel drops
//! before we read them (its receive buffer full), read from `SO_RXQ_OVFL` with each datagram.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tracing::{info, warn};

use crate::source::backoff::{seconds, sleep_or_stop};
use crate::source::emitter::{Emitter, Offer};
use crate::source::framer::LineFramer;
use crate::source::metrics::{worth_logging, Opened, SourceMetrics};
use crate::source::spec::SourceSpec;
use crate::source::stream::bind_with_retry;
use crate::time;

/// Largest UDP payload over IPv4; a bigger buffer would never fill.
const MAX_DATAGRAM: usize = 65_507;

/// Receives datagrams on `address` until shutdown. A datagram's last line needs no line
/// ending. Silence longer than the read timeout is counted as one stall (there is nothing to
/// reconnect; it tells the operator the sender stopped).
pub(crate) async fn run(spec: &SourceSpec, address: SocketAddr, out: &Emitter) {
    let Some(socket) = bind_with_retry(spec, address, out, || UdpSocket::bind(address)).await
    else {
        return;
    };
    let _open = Opened::new(&out.metrics);
    let local = socket.local_addr().unwrap_or(address);
    let counting = watch_overflow(&socket, spec);
    info!(source = %spec.name, addr = %local, kernel_drops_counted = counting, "Listening for datagrams.");
    let mut kernel = KernelDrops::default();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut framer = LineFramer::new(spec.max_line_bytes);
    let mut silent = false;
    loop {
        let received = tokio::select! {
            biased;
            _ = out.shutdown.cancelled() => return,
            received = tokio::time::timeout(spec.read_timeout, receive(&socket, &mut buf)) => received,
        };
        match received {
            Err(_) => {
                if !silent {
                    silent = true;
                    SourceMetrics::bump(&out.metrics.stalls);
                    warn!(
                        source = %spec.name, addr = %local, silent_s = seconds(spec.read_timeout),
                        "No datagrams within the read timeout."
                    );
                }
            }
            Ok(Err(err)) => {
                if worth_logging(out.error()) {
                    warn!(source = %spec.name, addr = %local, error = %err, "Receiving a datagram failed.");
                }
                // Errors that repeat at once (none are expected) must not spin a core.
                if sleep_or_stop(std::time::Duration::from_millis(10), &out.shutdown).await {
                    return;
                }
            }
            Ok(Ok((n, peer, overflow))) => {
                kernel.update(overflow, spec, &out.metrics);
                if silent {
                    silent = false;
                    info!(source = %spec.name, addr = %local, peer = %peer, "Datagrams resumed.");
                }
                let received_at = time::now();
                SourceMetrics::add(&out.metrics.bytes, n as u64);
                // Each datagram stands alone: nothing carries over to the next one.
                framer.reset();
                let mut lines = Vec::new();
                out.too_long(framer.push(&buf[..n], &mut lines));
                lines.extend(framer.finish());
                if out.offer_all(lines, received_at) == Offer::Closed {
                    return;
                }
            }
        }
    }
}

/// Asks the kernel to report, with each datagram, how many it has dropped on this socket, and
/// sets the receive buffer the configuration asks for. Whether drops will be counted.
fn watch_overflow(socket: &UdpSocket, spec: &SourceSpec) -> bool {
    if let Some(bytes) = spec.receive_buffer_bytes {
        if let Err(error) = socket2::SockRef::from(socket).set_recv_buffer_size(bytes) {
            warn!(source = %spec.name, bytes, %error, "Cannot set the receive buffer size.");
        }
    }
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a pointer to a live c_int and its size.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RXQ_OVFL,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set != 0 {
        warn!(source = %spec.name, error = %io::Error::last_os_error(), "Kernel drops on this socket cannot be counted.");
    }
    set == 0
}

/// The kernel's running count of dropped datagrams as last seen, and what was counted of it.
#[derive(Default)]
struct KernelDrops {
    last: u32,
}

impl KernelDrops {
    /// The count comes with the next datagram after a drop (it is the count when that datagram
    /// was queued), and wraps at 2^32.
    fn update(&mut self, overflow: Option<u32>, spec: &SourceSpec, metrics: &SourceMetrics) {
        let Some(now) = overflow else { return };
        let new = now.wrapping_sub(self.last);
        self.last = now;
        if new == 0 {
            return;
        }
        let before = metrics
            .kernel_dropped
            .fetch_add(u64::from(new), std::sync::atomic::Ordering::Relaxed);
        let after = before + u64::from(new);
        if before.leading_zeros() != after.leading_zeros() || before == 0 {
            warn!(
                source = %spec.name, kernel_dropped = after,
                "The kernel dropped datagrams: the receive buffer was full (raise receive_buffer_kb, or net.core.rmem_max)."
            );
        }
    }
}

/// One datagram, its sender, and the kernel's drop count when it was queued.
async fn receive(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<u32>)> {
    let fd = socket.as_raw_fd();
    socket
        .async_io(Interest::READABLE, || receive_now(fd, buf))
        .await
}

fn receive_now(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<u32>)> {
    // SAFETY: all-zero is a valid value of these plain C structs.
    let mut peer: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one control message with a u32, aligned as cmsghdr wants.
    let mut control = [0u64; 8];
    // SAFETY: as above.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_name = (&mut peer as *mut libc::sockaddr_storage).cast();
    message.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `message` points at a live buffer of the stated length.
    let n = unsafe { libc::recvmsg(fd, &mut message, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut overflow = None;
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within
    // msg_controllen; the data of an SO_RXQ_OVFL message is one u32.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SO_RXQ_OVFL
            {
                overflow = Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(header).cast::<u32>(),
                ));
            }
            header = libc::CMSG_NXTHDR(&message, header);
        }
    }
    Ok((n as usize, peer_address(&peer), overflow))
}

fn peer_address(peer: &libc::sockaddr_storage) -> SocketAddr {
    match i32::from(peer.ss_family) {
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let v6 =
                unsafe { &*(peer as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            ))
        }
        _ => {
            // SAFETY: a datagram socket of ours is IPv4 or IPv6; IPv4 holds a sockaddr_in.
            let v4 =
                unsafe { &*(peer as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                u16::from_be(v4.sin_port),
            ))
        }
    }
}
