//! A real Redis Cluster on loopback: three `redis-server` masters, each in its own temporary
//! directory, joined by `redis-cli --cluster create`. The test can kill a node (`SIGKILL`) and
//! start it again on the same port with the same `nodes.conf`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::cluster::{free_port, spawn_redis};
use crate::PATIENCE;

/// How many masters [`RedisCluster::start`] starts.
const MASTERS: usize = 3;

/// How often the fixture asks the nodes how the cluster is doing.
const POLL: Duration = Duration::from_millis(20);

/// A Redis Cluster of three masters (no replicas) on free loopback ports; every node is killed
/// and its directory removed on drop.
pub struct RedisCluster {
    nodes: Vec<Node>,
}

impl RedisCluster {
    /// Starts three masters, creates the cluster and waits until every node reports
    /// `cluster_state:ok` and knows all three masters. Starts again on fresh ports (five tries)
    /// if a port clash keeps a server from starting.
    pub async fn start() -> Self {
        for _ in 0..5 {
            if let Some(cluster) = Self::try_start().await {
                return cluster;
            }
        }
        panic!("a Redis Cluster did not start on free ports (5 tries)");
    }

    async fn try_start() -> Option<Self> {
        let ports = distinct_free_ports(2 * MASTERS);
        let mut nodes: Vec<Node> = ports
            .chunks(2)
            .map(|pair| Node::new(pair[0], pair[1]))
            .collect();
        for node in &mut nodes {
            if !node.spawn().await {
                return None; // dropping `nodes` kills the others and removes their directories
            }
        }
        let cluster = Self { nodes };
        cluster.create().await;
        cluster.wait_ok().await;
        Some(cluster)
    }

    /// `redis-cli --cluster create` over all nodes, answering yes to the proposed layout.
    async fn create(&self) {
        let addresses: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let run = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(PATIENCE, run)
            .await
            .unwrap_or_else(|_| panic!("redis-cli --cluster create finished within {PATIENCE:?}"))
            .unwrap_or_else(|e| {
                panic!("redis-cli could not run ({e}); `bash scripts/test.sh` installs it")
            });
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("All 16384 slots covered"),
            "redis-cli --cluster create {addresses:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Moves `slots` hash slots from node `from` to node `to` with `redis-cli --cluster
    /// reshard` (slot by slot: MIGRATE, with ASK redirections while a slot is on its way), then
    /// waits until every node sees the new layout.
    pub async fn move_slots(&self, from: usize, to: usize, slots: usize) {
        let id = |i: usize| async move {
            command(self.nodes[i].port, "CLUSTER MYID")
                .await
                .unwrap_or_else(|| panic!("node {i} tells its id"))
        };
        let (from_id, to_id) = (id(from).await, id(to).await);
        let run = Command::new("redis-cli")
            .args([
                "--cluster",
                "reshard",
                &format!("127.0.0.1:{}", self.nodes[to].port),
            ])
            .args(["--cluster-from", &from_id, "--cluster-to", &to_id])
            .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(PATIENCE, run)
            .await
            .unwrap_or_else(|_| panic!("redis-cli --cluster reshard finished within {PATIENCE:?}"))
            .expect("redis-cli runs");
        assert!(
            output.status.success(),
            "redis-cli --cluster reshard failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        self.wait_ok().await;
    }

    /// `redis://127.0.0.1:PORT/` of every node, in node order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}/", n.port))
            .collect()
    }

    /// [`urls`](Self::urls) joined with commas (for `REDIS_CLUSTER_URLS` and the Node scripts).
    pub fn urls_joined(&self) -> String {
        self.urls().join(",")
    }

    /// Kills node `i` (`SIGKILL`) and waits for it to exit. The others notice after the node
    /// timeout (2 s): see [`wait_failed`](Self::wait_failed).
    pub async fn kill(&mut self, i: usize) {
        self.nodes[i].kill().await;
    }

    /// Starts node `i` again on its port, in its directory (so with its `nodes.conf`: the same
    /// node id and slots), and waits until every node reports `cluster_state:ok` again.
    pub async fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        assert!(
            node.spawn().await,
            "redis-server restarts on port {} (cluster port {})",
            node.port,
            node.bus_port
        );
        self.wait_ok().await;
    }

    /// Waits until every node reports `cluster_state:ok` and, in `CLUSTER NODES`, all three
    /// masters serving slots, connected and not flagged failing; fails the test after
    /// [`PATIENCE`].
    pub async fn wait_ok(&self) {
        self.wait_for("every node reports cluster_state:ok", |views| {
            views.iter().all(|view| match view {
                View::Up { info, nodes } => {
                    field(info, "cluster_state") == Some("ok")
                        && field(info, "cluster_known_nodes") == Some("3")
                        && field(info, "cluster_size") == Some("3")
                        && healthy_masters(nodes) == MASTERS
                }
                View::Down => false,
            })
        })
        .await;
    }

    /// Waits until every other running node flags node `i` as failed (`fail`, not just
    /// `fail?`) and reports `cluster_state:fail`; fails the test after [`PATIENCE`].
    pub async fn wait_failed(&self, i: usize) {
        let address = format!("127.0.0.1:{}@", self.nodes[i].port);
        let what = format!("the other nodes see node {i} failed");
        self.wait_for(&what, |views| {
            views.iter().enumerate().all(|(j, view)| match view {
                _ if j == i => true,
                View::Up { info, nodes } => {
                    field(info, "cluster_state") == Some("fail")
                        && nodes.lines().any(|line| {
                            let fields: Vec<&str> = line.split(' ').collect();
                            fields.get(1).is_some_and(|a| a.starts_with(&address))
                                && fields
                                    .get(2)
                                    .is_some_and(|flags| flags.split(',').any(|f| f == "fail"))
                        })
                }
                View::Down => self.nodes[j].child.is_none(),
            })
        })
        .await;
    }

    /// The `cluster_state` field of node `i`'s `CLUSTER INFO` (`ok` or `fail`), or `None` if it
    /// does not answer.
    pub async fn cluster_state(&self, i: usize) -> Option<String> {
        let info = command(self.nodes[i].port, "CLUSTER INFO").await?;
        field(&info, "cluster_state").map(str::to_owned)
    }

    /// Polls every node every [`POLL`] until `done` holds for their views; fails the test with
    /// the last views after [`PATIENCE`].
    async fn wait_for(&self, what: &str, mut done: impl FnMut(&[View]) -> bool) {
        let mut views = Vec::new();
        let polling = async {
            loop {
                views.clear();
                for node in &self.nodes {
                    views.push(View::of(node.port).await);
                }
                if done(&views) {
                    return;
                }
                tokio::time::sleep(POLL).await;
            }
        };
        if tokio::time::timeout(PATIENCE, polling).await.is_err() {
            panic!("waited {PATIENCE:?} until {what}; the nodes said: {views:#?}");
        }
    }
}

/// What one node says about the cluster.
#[derive(Debug)]
enum View {
    /// Its `CLUSTER INFO` and `CLUSTER NODES`.
    Up { info: String, nodes: String },
    /// It did not answer.
    Down,
}

impl View {
    async fn of(port: u16) -> Self {
        let info = command(port, "CLUSTER INFO").await;
        let nodes = command(port, "CLUSTER NODES").await;
        match (info, nodes) {
            (Some(info), Some(nodes)) => Self::Up { info, nodes },
            _ => Self::Down,
        }
    }
}

/// The value of `name` in a `CLUSTER INFO` answer (`name:value` lines).
fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The masters of a `CLUSTER NODES` answer that serve slots, are connected and are not flagged
/// `fail`, `fail?`, `handshake` or `noaddr`.
fn healthy_masters(nodes: &str) -> usize {
    nodes
        .lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let Some(flags) = fields.get(2) else {
                return false;
            };
            let flags: Vec<&str> = flags.split(',').collect();
            flags.contains(&"master")
                && !flags
                    .iter()
                    .any(|f| matches!(*f, "fail" | "fail?" | "handshake" | "noaddr"))
                && fields.get(7) == Some(&"connected")
                && fields.len() > 8
        })
        .count()
}

/// Sends the inline command `cmd` to the server on loopback `port` and returns its bulk-string
/// answer; `None` if the server does not answer one within a second.
async fn command(port: u16, cmd: &str) -> Option<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        stream
            .write_all(format!("{cmd}\r\n").as_bytes())
            .await
            .ok()?;
        let mut reader = BufReader::new(stream);
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let len: usize = header.strip_prefix('$')?.trim_end().parse().ok()?;
        let mut body = vec![0; len + 2];
        reader.read_exact(&mut body).await.ok()?;
        body.truncate(len);
        String::from_utf8(body).ok()
    };
    tokio::time::timeout(Duration::from_secs(1), exchange)
        .await
        .ok()
        .flatten()
}

/// `n` free loopback ports, all different.
fn distinct_free_ports(n: usize) -> Vec<u16> {
    let mut ports = Vec::with_capacity(n);
    while ports.len() < n {
        let port = free_port();
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

/// One `redis-server` of the cluster: its client port, its cluster bus port, its directory
/// (holding `nodes.conf`) and its process while it runs.
struct Node {
    port: u16,
    bus_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// A node that is not running yet, with a new empty directory.
    fn new(port: u16, bus_port: u16) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!(
                "gateway-redis-cluster-{}-{n}-{port}",
                std::process::id()
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("could not create {}: {e}", dir.display()),
            }
        };
        Self {
            port,
            bus_port,
            dir,
            child: None,
        }
    }

    /// Starts the server; waits until it answers `PING`. `false` if it exited first (its
    /// ports were taken) or did not answer within [`PATIENCE`].
    async fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let bus_port = self.bus_port.to_string();
        let dir = self.dir.to_str().expect("a UTF-8 temporary directory");
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes", "--cluster-port", &bus_port])
            .args(["--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", "2000"])
            .args(["--save", "", "--appendonly", "no", "--dir", dir])
            .current_dir(&self.dir);
        self.child = spawn_redis(command, self.port).await;
        self.child.is_some()
    }

    /// Kills the server (`SIGKILL`) and waits for it to exit.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Wait (briefly) for the exit, so the server writes nothing more into the directory.
            let _ = child.start_kill();
            for _ in 0..200 {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
