//! Many datagrams in one system call (Linux `sendmmsg(2)`).
//!
//! The media loop queues what str0m hands it to send during one wake-up and sends the
//! queue at the end of it: forwarding to N subscribers costs one system call per batch
//! instead of one per packet and subscriber (in this VM a system call costs a few µs,
//! as much as the rest of a forwarded packet's way). Nothing waits longer than the
//! wake-up it was produced in.
#![allow(unsafe_code)]

use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Most datagrams per `sendmmsg` call.
const CHUNK: usize = 64;

/// Reused buffers for the message headers (no allocation in steady state).
#[derive(Default)]
pub(super) struct SendBatch {
    addrs: Vec<socket2::SockAddr>,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

// SAFETY of Send: the raw pointers in `iovs` and `msgs` are only set and used inside
// `send`, pointing at data that outlives the call; between calls they dangle unused.
unsafe impl Send for SendBatch {}

impl SendBatch {
    /// Sends each `(destination, bytes)` on `sock`. Returns how many went out; the rest
    /// (a full send buffer, an unreachable destination) are dropped, as a lossy link
    /// would drop them: RTP and RTCP recover by themselves (NACK, retransmitted DTLS).
    pub fn send<'a>(
        &mut self,
        sock: &impl AsRawFd,
        datagrams: impl Iterator<Item = (SocketAddr, &'a [u8])>,
    ) -> usize {
        let fd = sock.as_raw_fd();
        let mut sent = 0;
        let mut items = datagrams.peekable();
        while items.peek().is_some() {
            self.addrs.clear();
            self.iovs.clear();
            for (to, bytes) in items.by_ref().take(CHUNK) {
                self.addrs.push(socket2::SockAddr::from(to));
                self.iovs.push(libc::iovec {
                    iov_base: bytes.as_ptr() as *mut libc::c_void,
                    iov_len: bytes.len(),
                });
            }
            let n = self.iovs.len();
            self.msgs.clear();
            for i in 0..n {
                // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
                let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                m.msg_hdr.msg_name = self.addrs[i].as_ptr() as *mut libc::c_void;
                m.msg_hdr.msg_namelen = self.addrs[i].len();
                m.msg_hdr.msg_iov = &mut self.iovs[i];
                m.msg_hdr.msg_iovlen = 1;
                self.msgs.push(m);
            }
            let mut done = 0;
            while done < n {
                // SAFETY: `msgs[done..n]` are valid headers whose name and iovec point into
                // `addrs`, `iovs` and the caller's byte slices, all alive for this call.
                let r = unsafe {
                    libc::sendmmsg(
                        fd,
                        self.msgs.as_mut_ptr().add(done),
                        (n - done) as libc::c_uint,
                        0,
                    )
                };
                if r < 0 {
                    let e = std::io::Error::last_os_error();
                    if e.kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    // Full buffer or an error on the first message: drop that one and go on.
                    done += 1;
                    continue;
                }
                let k = r as usize;
                sent += k;
                done += if k == 0 { 1 } else { k };
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_arrives_whole_and_in_order() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let payloads: Vec<Vec<u8>> = (0..150u32).map(|i| i.to_be_bytes().repeat(50)).collect();
        let mut batch = SendBatch::default();
        let sent = batch.send(&tx, payloads.iter().map(|p| (to, p.as_slice())));
        assert_eq!(sent, 150);
        let mut buf = [0u8; 512];
        for p in &payloads {
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], p.as_slice());
        }
    }
}
