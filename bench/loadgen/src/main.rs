//! The benchmark load generator. One scenario per run; prints one JSON line with the result,
//! including the server's CPU time over the measured window (read from `/proc/PID/stat` of
//! every `--server-pid`) and its RSS.
//!
//! ```text
//! loadgen echo     --url 127.0.0.1:3000 --format json --conns 100 --size 20 [--event echo]
//! loadgen latency  --url … --format … --conns 100 --rate 40000
//! loadgen fanout   --url A[,B] --format … --subs 1000 --size 100 [--rate R] [--stalled 10]
//! loadgen idle     --url … --format … --conns 10000
//! loadgen connect  --url … --format … --conns 5000 --concurrency 200 [--jwt SECRET]
//! loadgen jwt-cost --jwt SECRET --conns 100000     (the HS256 check alone, no server)
//! loadgen soak     --url A,B --format … --rate 200 --subs 50 --conns 20 --duration 1800
//! loadgen storm    --url … --format … --conns 4950 --src 127.0.0.2 --first 0 [--jwt SECRET]
//!                  [--publisher] [--timeout 120]     (driven by bench/storm.py, see storm.rs)
//! ```
//! Common: `--duration S` (measured seconds, default 5), `--warmup S` (default 1),
//! `--server-pid P[,P]`; fanout also `--redis-pid P[,P]` (utime + stime of those processes over
//! the measured window, as `redis_cpu_s`).

mod conn;
mod proc_stats;
mod scenarios;
mod soak;
mod storm;

use std::net::IpAddr;
use std::time::Duration;

use conn::Format;

#[derive(Clone, Debug)]
pub struct Opts {
    pub scenario: String,
    pub urls: Vec<String>,
    pub format: Format,
    pub conns: usize,
    pub size: usize,
    pub event: String,
    pub duration: Duration,
    pub warmup: Duration,
    pub rate: Option<f64>,
    pub subs: usize,
    pub stalled: usize,
    pub concurrency: usize,
    pub window: usize,
    pub server_pids: Vec<u32>,
    /// fanout: processes (redis-server) whose CPU time over the window is reported apart.
    pub redis_pids: Vec<u32>,
    /// storm: the local addresses the clients connect from, round-robin.
    pub sources: Vec<IpAddr>,
    /// storm: sign every client a JWT with this secret.
    pub jwt: Option<String>,
    /// storm: this process publishes the broadcast.
    pub publisher: bool,
    /// storm: the index of this process's first client (its token's `sub`).
    pub first: usize,
    /// storm: how long after `go` every client must have received the broadcast.
    pub timeout: Duration,
}

fn parse() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().ok_or("usage: loadgen SCENARIO [options]")?;
    let mut opts = Opts {
        scenario,
        urls: vec!["127.0.0.1:3000".into()],
        format: Format::Json,
        conns: 100,
        size: 20,
        event: "echo".into(),
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        rate: None,
        subs: 1000,
        stalled: 0,
        concurrency: 200,
        window: 16,
        server_pids: Vec::new(),
        redis_pids: Vec::new(),
        sources: vec![IpAddr::from([127, 0, 0, 1])],
        jwt: None,
        publisher: false,
        first: 0,
        timeout: Duration::from_secs(120),
    };
    while let Some(flag) = args.next() {
        if flag == "--publisher" {
            opts.publisher = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--url" => opts.urls = value.split(',').map(str::to_owned).collect(),
            "--format" => opts.format = Format::parse(&value)?,
            "--conns" => opts.conns = num(&value)? as usize,
            "--size" => opts.size = num(&value)? as usize,
            "--event" => opts.event = value,
            "--duration" => opts.duration = Duration::from_secs_f64(num(&value)?),
            "--warmup" => opts.warmup = Duration::from_secs_f64(num(&value)?),
            "--rate" => opts.rate = Some(num(&value)?),
            "--subs" => opts.subs = num(&value)? as usize,
            "--stalled" => opts.stalled = num(&value)? as usize,
            "--concurrency" => opts.concurrency = num(&value)? as usize,
            "--window" => opts.window = num(&value)? as usize,
            "--src" => {
                opts.sources = value
                    .split(',')
                    .map(|a| a.parse().map_err(|_| format!("bad address {a}")))
                    .collect::<Result<_, _>>()?
            }
            "--jwt" => opts.jwt = Some(value),
            "--first" => opts.first = num(&value)? as usize,
            "--timeout" => opts.timeout = Duration::from_secs_f64(num(&value)?),
            "--server-pid" => {
                opts.server_pids = value
                    .split(',')
                    .map(|p| p.parse().map_err(|_| format!("bad pid {p}")))
                    .collect::<Result<_, _>>()?
            }
            "--redis-pid" => {
                opts.redis_pids = value
                    .split(',')
                    .map(|p| p.parse().map_err(|_| format!("bad pid {p}")))
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(opts)
}

fn main() {
    let opts = match parse() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    // One thread: the runner pins the load generator to its own core.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // The storm prints its result itself, before it closes its connections.
    let result = match opts.scenario.as_str() {
        "storm" => runtime.block_on(storm::storm(&opts)).map(|()| None),
        _ => runtime.block_on(scenarios::run(opts)).map(Some),
    };
    match result {
        Ok(Some(json)) => println!("{json}"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}
