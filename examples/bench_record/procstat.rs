//! Reads what the kernel and ffprobe say about processes and files: CPU time of a
//! process, of its threads with a given name or of the whole machine, resident memory,
//! and packets per stream in a media file. Read-only; never signals or changes a process.

use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;

/// Kernel clock ticks per second (`getconf CLK_TCK`; 100 on Linux everywhere we run).
const TICKS: f64 = 100.0;

/// utime + stime of a `/proc/.../stat` text, in seconds.
fn stat_cpu(stat: &str) -> Option<f64> {
    // Fields after the parenthesised command name; utime and stime are fields 14, 15
    // and the rest starts at field 3 (state), so field n is at index n - 3.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    Some((t(11)? + t(12)?) / TICKS)
}

/// User + system CPU seconds of a process, all its threads (live and ended).
pub fn process_cpu(pid: u32) -> anyhow::Result<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))?;
    stat_cpu(&s).context("unreadable /proc stat")
}

/// CPU seconds per live thread named `name`, keyed by thread id.
pub fn threads_cpu(pid: u32, name: &str) -> Vec<(u32, f64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        if let Some(cpu) = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(stat_cpu)
        {
            out.push((tid, cpu));
        }
    }
    out
}

/// CPU spent by threads between two `threads_cpu` samples (threads born in between count
/// from zero; threads that ended in between are lost, so sample before they end).
pub fn threads_delta(before: &[(u32, f64)], after: &[(u32, f64)]) -> f64 {
    after
        .iter()
        .map(|(tid, c)| {
            let b = before
                .iter()
                .find(|(t, _)| t == tid)
                .map_or(0.0, |(_, c)| *c);
            c - b
        })
        .sum()
}

/// The whole machine's CPU so far, every process of every user: (busy seconds summed
/// over the cores, cores), from `/proc/stat` (not namespaced).
pub fn machine_cpu() -> Option<(f64, usize)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let mut lines = s.lines();
    let f: Vec<u64> = lines
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| f.get(i)).sum();
    let cores = lines
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some((busy as f64 / TICKS, cores))
}

/// A `/proc/<pid>/status` field in KiB (VmRSS, VmHWM).
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Datagrams dropped so far by the UDP sockets of this network namespace
/// (`/proc/net/udp`'s `drops`: a full receive buffer), split into the sockets process
/// `pid` holds and all the others: [pid's, others'].
pub fn udp_drops(pid: u32) -> [u64; 2] {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let link = std::fs::read_link(e.path()).ok()?;
            let link = link.to_str()?;
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut out = [0; 2];
    for name in ["/proc/net/udp", "/proc/net/udp6"] {
        let text = std::fs::read_to_string(name).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(inode), Some(drops)) =
                (f.get(9), f.last().and_then(|d| d.parse::<u64>().ok()))
            else {
                continue;
            };
            out[usize::from(!inodes.contains(*inode))] += drops;
        }
    }
    out
}

/// Packets per stream type in a media file, as `ffprobe -count_packets` reads them:
/// (video, audio).
pub fn count_packets(path: &Path) -> anyhow::Result<(u64, u64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-show_entries"])
        .args(["stream=codec_type,nb_read_packets", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .context("running ffprobe")?;
    if !out.status.success() {
        bail!(
            "ffprobe cannot read {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let (mut video, mut audio) = (0, 0);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.trim().trim_end_matches(',').split(',');
        let kind = parts.next().unwrap_or("");
        let n: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        match kind {
            "video" => video += n,
            "audio" => audio += n,
            _ => {}
        }
    }
    Ok((video, audio))
}
