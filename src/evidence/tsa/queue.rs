//! Time-stamping in the background: a [`StampQueue`] owns one thread that asks a
//! [`TimeStamper`] for a token over each checkpoint note pushed to it, retrying with
//! exponential backoff ([`RetryPolicy`]) and handing every outcome to a sink. The newest
//! checkpoint is tried first (its token covers every earlier entry by consistency), a
//! checkpoint still unstamped after `give_up_after` is reported as failed and dropped,
//! so a TSA that is down for hours costs a bounded queue and one attempt per backoff.
//!
//! Must never: block the caller of [`StampQueue::push`], deliver a token that
//! [`TimeStamper::stamp`] did not verify, or keep running after [`StampQueue::stop`], its
//! drop, or a sink that says it is done.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use super::TimeStamper;

/// How often a stamping thread with nothing to do checks whether it was stopped.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Retry timing of a [`StampQueue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failed attempt; doubled after each further failure.
    pub first_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// A checkpoint not stamped this long after it was pushed is given up.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            give_up_after: Duration::from_secs(600),
        }
    }
}

/// What the sink receives for the checkpoint of `size`: the verified token, or why the
/// queue gave up on it. The sink returns `false` when it wants no more.
pub type StampOutcome = Result<Vec<u8>, String>;

struct Job {
    size: u64,
    note: Vec<u8>,
    since: Instant,
    attempts: u32,
}

/// Whether the last attempt of a queue failed (the TSA looks down or broken).
#[derive(Clone, Debug, Default)]
struct Health(Arc<AtomicBool>);

/// A handle that stops a [`StampQueue`]'s thread from anywhere.
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Pending checkpoints are dropped; the thread ends after its current attempt.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A background stamping thread and the channel that feeds it.
#[derive(Debug)]
pub struct StampQueue {
    tx: mpsc::Sender<Job>,
    stop: StopHandle,
    failing: Health,
}

impl StampQueue {
    /// Starts the thread (named `sworn-tsa-<label>`).
    pub fn start(
        stamper: Arc<TimeStamper>,
        policy: RetryPolicy,
        label: &str,
        sink: impl FnMut(u64, StampOutcome) -> bool + Send + 'static,
    ) -> std::io::Result<StampQueue> {
        let (tx, rx) = mpsc::channel();
        let stop = StopHandle::default();
        let failing = Health::default();
        let worker = Worker {
            failing: failing.clone(),
            stamper,
            policy,
            rx,
            open: true,
            stop: stop.clone(),
            queue: VecDeque::new(),
        };
        std::thread::Builder::new()
            .name(format!("sworn-tsa-{label}"))
            .spawn(move || worker.run(sink))?;
        Ok(StampQueue { tx, stop, failing })
    }

    /// Queues the checkpoint `note` (of tree `size`) for stamping; false if the thread
    /// has ended.
    pub fn push(&self, size: u64, note: Vec<u8>) -> bool {
        self.tx
            .send(Job {
                size,
                note,
                since: Instant::now(),
                attempts: 0,
            })
            .is_ok()
    }

    /// True while the thread's last attempt failed (and no success came since): a
    /// caller that could try a quick attempt of its own had better not wait on the TSA.
    pub fn tsa_failing(&self) -> bool {
        self.failing.0.load(Ordering::SeqCst)
    }

    /// A handle to stop the thread later (e.g. from a task that no longer holds the
    /// queue).
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stops the thread; pending checkpoints stay unstamped.
    pub fn stop(&self) {
        self.stop.stop();
    }
}

impl Drop for StampQueue {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    stamper: Arc<TimeStamper>,
    policy: RetryPolicy,
    rx: mpsc::Receiver<Job>,
    /// False once every sender is gone.
    open: bool,
    stop: StopHandle,
    failing: Health,
    /// Oldest first; the newest is tried first.
    queue: VecDeque<Job>,
}

impl Worker {
    fn run(mut self, mut sink: impl FnMut(u64, StampOutcome) -> bool) {
        let mut backoff = self.policy.first_backoff;
        let mut next_try = Instant::now();
        loop {
            if self.stop.stopped() {
                return;
            }
            self.take_pushed();
            let now = Instant::now();
            while self
                .queue
                .front()
                .is_some_and(|j| now.duration_since(j.since) >= self.policy.give_up_after)
            {
                let Some(job) = self.queue.pop_front() else {
                    break;
                };
                tracing::warn!(
                    size = job.size,
                    attempts = job.attempts,
                    "time-stamping given up for a checkpoint"
                );
                let why = format!("no token after {} attempts", job.attempts);
                if !sink(job.size, Err(why)) {
                    return;
                }
            }
            if self.queue.is_empty() {
                if !self.open {
                    return;
                }
                self.wait(IDLE_POLL);
                continue;
            }
            if now < next_try {
                self.wait(next_try.duration_since(now).min(IDLE_POLL));
                continue;
            }
            let Some(job) = self.queue.back_mut() else {
                continue;
            };
            job.attempts += 1;
            match self.stamper.stamp(&job.note) {
                Ok(token) => {
                    self.failing.0.store(false, Ordering::SeqCst);
                    backoff = self.policy.first_backoff;
                    next_try = Instant::now();
                    if let Some(job) = self.queue.pop_back() {
                        if !sink(job.size, Ok(token)) {
                            return;
                        }
                    }
                }
                Err(e) => {
                    self.failing.0.store(true, Ordering::SeqCst);
                    if job.attempts == 1 {
                        tracing::warn!(size = job.size, error = %e, "time-stamping attempt failed; retrying");
                    } else {
                        tracing::debug!(size = job.size, attempt = job.attempts, error = %e, "time-stamping attempt failed");
                    }
                    next_try = Instant::now() + backoff;
                    backoff = backoff.saturating_mul(2).min(self.policy.max_backoff);
                }
            }
        }
    }

    /// Moves every job already pushed into the queue.
    fn take_pushed(&mut self) {
        while self.open {
            match self.rx.try_recv() {
                Ok(job) => self.queue.push_back(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.open = false,
            }
        }
    }

    /// Waits up to `d`, waking early for a new job.
    fn wait(&mut self, d: Duration) {
        if !self.open {
            std::thread::sleep(d);
            return;
        }
        match self.rx.recv_timeout(d) {
            Ok(job) => self.queue.push_back(job),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.open = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::tsa::{ExternalTsa, TsaIdentity};

    type Got = Arc<std::sync::Mutex<Vec<(u64, StampOutcome)>>>;

    fn collect() -> (Got, impl FnMut(u64, StampOutcome) -> bool + Send + 'static) {
        let got: Got = Arc::default();
        let g = got.clone();
        (got, move |size, outcome| {
            g.lock().map(|mut v| v.push((size, outcome))).is_ok()
        })
    }

    fn wait_for(got: &std::sync::Mutex<Vec<(u64, StampOutcome)>>, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {:?}",
                got.lock().unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn every_pushed_checkpoint_is_stamped_with_a_verified_token() {
        let tmp = tempfile::tempdir().unwrap();
        let id = TsaIdentity::create(tmp.path(), std::time::SystemTime::now()).unwrap();
        let chain = id.chain_pem();
        let stamper = Arc::new(TimeStamper::Builtin(Box::new(id)));
        let (got, sink) = collect();
        let q = StampQueue::start(stamper, RetryPolicy::default(), "test", sink).unwrap();
        for size in 1..=5u64 {
            assert!(q.push(size, format!("note {size}\n").into_bytes()));
        }
        wait_for(&got, 5);
        let got = got.lock().unwrap();
        let mut sizes: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
        for (size, outcome) in got.iter() {
            let token = outcome.as_ref().unwrap();
            let note = format!("note {size}\n");
            crate::verify::timestamp::verify_token(token, note.as_bytes(), chain.as_bytes())
                .unwrap();
        }
        sizes.sort();
        assert_eq!(sizes, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_tsa_that_never_answers_is_given_up_after_the_deadline() {
        let tmp = tempfile::tempdir().unwrap();
        let id = TsaIdentity::create(tmp.path(), std::time::SystemTime::now()).unwrap();
        // Nothing listens there (bound, then closed).
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let ext = ExternalTsa::new(
            &format!("http://{addr}/tsa"),
            id.chain_pem().as_bytes(),
            &id,
        )
        .unwrap();
        let policy = RetryPolicy {
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            give_up_after: Duration::from_millis(400),
        };
        let (got, sink) = collect();
        let started = Instant::now();
        let q =
            StampQueue::start(Arc::new(TimeStamper::External(ext)), policy, "test", sink).unwrap();
        q.push(7, b"note\n".to_vec());
        wait_for(&got, 1);
        let elapsed = started.elapsed();
        let got = got.lock().unwrap();
        let (size, outcome) = &got[0];
        assert_eq!(*size, 7);
        let why = outcome.as_ref().unwrap_err();
        let attempts: u32 = why
            .strip_prefix("no token after ")
            .and_then(|s| s.strip_suffix(" attempts"))
            .unwrap()
            .parse()
            .unwrap();
        assert!(attempts >= 3, "{why}");
        assert!(elapsed >= policy.give_up_after && elapsed < Duration::from_secs(5));
        assert!(q.tsa_failing());
    }
}
