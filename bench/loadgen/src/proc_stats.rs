//! The server's CPU time and memory, from `/proc`.

/// Clock ticks per second of `/proc/PID/stat` (USER_HZ, 100 on Linux x86-64 and arm64).
const TICKS_PER_SECOND: f64 = 100.0;

/// Time on CPU of every pid's threads, in seconds, to the nanosecond: the sum of
/// `/proc/PID/task/*/schedstat` (user and kernel time; `utime` and `stime` count 10 ms ticks,
/// too coarse for a few hundred milliseconds of connection setup). Threads that have exited are
/// not counted: tokio's workers and Node's threads live as long as the server.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|pid| {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                return 0.0;
            };
            tasks
                .flatten()
                .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
                .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
                .sum::<u64>() as f64
                / 1e9
        })
        .sum()
}

/// (utime, stime) of every pid, in seconds: time in the process and in the kernel for it.
pub fn cpu_split(pids: &[u32]) -> (f64, f64) {
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ')'.
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0) as f64
                    / TICKS_PER_SECOND
            };
            (ticks(11), ticks(12))
        })
        .fold((0.0, 0.0), |(u, s), (du, ds)| (u + du, s + ds))
}

/// Resident set size of every pid, in KiB.
pub fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}
