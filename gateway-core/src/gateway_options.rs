//! [`GatewayOptions`]: where a gateway is served, which origins may connect, and what a full
//! send queue does to its sockets.

/// Where a gateway is served (NestJS `@WebSocketGateway(port, options)`).
///
/// The JSON wire format serves a gateway at the URL path [`path`](Self::path): the explicit
/// `path` if set, else the namespace.
///
/// ```
/// use gateway_core::GatewayOptions;
/// let options = GatewayOptions::new("chat").with_port(3001).with_allowed_origins(["http://localhost:4200"]);
/// assert_eq!(options.namespace(), "/chat");
/// assert_eq!(options.path(), "/chat");
/// assert_eq!(options.port(), 3001);
/// assert!(options.allowed_origins().allows(Some("http://localhost:4200")));
/// assert!(!options.allowed_origins().allows(Some("http://evil.example")));
/// ```
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    namespace: String,
    path: Option<String>,
    port: u16,
    allowed_origins: AllowedOrigins,
    full_queue: FullQueue,
    keep_empty: bool,
    max_live_namespaces: usize,
    /// `namespace` is a regular expression (see [`GatewayOptions::regex`]).
    namespace_is_regex: bool,
}

/// How many concrete namespaces one dynamic gateway keeps live at once, unless
/// [`GatewayOptions::with_max_live_namespaces`] says otherwise: clients pick the names, so
/// without a bound they could create namespaces until memory runs out.
///
/// ```
/// use gateway_core::{GatewayOptions, DEFAULT_MAX_LIVE_NAMESPACES};
/// let options = GatewayOptions::new("/workspaces/{workspace}");
/// assert_eq!(options.max_live_namespaces(), DEFAULT_MAX_LIVE_NAMESPACES);
/// ```
pub const DEFAULT_MAX_LIVE_NAMESPACES: usize = 1000;

impl GatewayOptions {
    /// A gateway at `namespace` (a leading `/` is added if missing), on the app's main port.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: with_leading_slash(namespace.into()),
            path: None,
            port: 0,
            allowed_origins: AllowedOrigins::Any,
            full_queue: FullQueue::Disconnect,
            keep_empty: false,
            max_live_namespaces: DEFAULT_MAX_LIVE_NAMESPACES,
            namespace_is_regex: false,
        }
    }

    /// A dynamic gateway serving every namespace `regex` matches, as socket.io's RegExp
    /// namespaces (`io.of(/^\/workspaces\/[a-z0-9-]+$/)`): its named capture groups become
    /// the [`NamespaceParams`](crate::NamespaceParams). As socket.io, the expression is
    /// searched for in the name: anchor it with `^…$`. The macro's
    /// `#[gateway(namespace_regex = "…")]` sets it too.
    ///
    /// ```
    /// use gateway_core::GatewayOptions;
    /// let options = GatewayOptions::regex(r"^/workspaces/(?<workspace>[a-z0-9-]+)$");
    /// assert!(options.is_dynamic());
    /// assert_eq!(options.namespace(), r"^/workspaces/(?<workspace>[a-z0-9-]+)$");
    /// ```
    pub fn regex(regex: impl Into<String>) -> Self {
        Self {
            namespace: regex.into(),
            namespace_is_regex: true,
            ..Self::new("/")
        }
    }

    /// Serves the JSON wire format at this URL path instead of the namespace.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(with_leading_slash(path.into()));
        self
    }

    /// Serves the gateway on its own port (`0`, the default, means the app's main listener).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Accepts upgrades only from these `Origin`s (`"*"` accepts any; a request without an
    /// `Origin` header, i.e. not from a browser, is always accepted).
    pub fn with_allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        self.allowed_origins = if origins.iter().any(|o| o == "*") {
            AllowedOrigins::Any
        } else {
            AllowedOrigins::List(origins)
        };
        self
    }

    /// What an emit to one of this gateway's sockets does when its send queue is full:
    /// disconnect the client with 1008 (the default), or drop the emit. See [`FullQueue`]; the
    /// macro's `#[gateway(full_queue = "drop_newest")]` sets it too.
    ///
    /// ```
    /// use gateway_core::{FullQueue, GatewayOptions};
    /// let options = GatewayOptions::new("/prices").with_full_queue(FullQueue::DropNewest);
    /// ```
    pub fn with_full_queue(mut self, policy: FullQueue) -> Self {
        self.full_queue = policy;
        self
    }

    /// For a dynamic gateway (a namespace with `{parameters}`): keeps each concrete namespace
    /// once its last socket has left, with its rooms' state and its `after_init`, instead of
    /// dropping it (the default). The macro's `#[gateway(keep_empty = true)]` sets it too.
    ///
    /// ```
    /// use gateway_core::GatewayOptions;
    /// let options = GatewayOptions::new("/workspaces/{workspace}").with_keep_empty(true);
    /// assert!(options.keep_empty());
    /// ```
    pub fn with_keep_empty(mut self, keep: bool) -> Self {
        self.keep_empty = keep;
        self
    }

    /// For a dynamic gateway: the most concrete namespaces live at once
    /// ([`DEFAULT_MAX_LIVE_NAMESPACES`] by default). A client connecting to one more is
    /// refused as socket.io refuses an unknown namespace: `CONNECT_ERROR` "Invalid namespace"
    /// for Socket.IO, `404` for the JSON format. The macro's `#[gateway(max_namespaces = N)]`
    /// sets it too.
    ///
    /// ```
    /// use gateway_core::GatewayOptions;
    /// let options = GatewayOptions::new("/workspaces/{workspace}").with_max_live_namespaces(50);
    /// assert_eq!(options.max_live_namespaces(), 50);
    /// ```
    pub fn with_max_live_namespaces(mut self, max: usize) -> Self {
        self.max_live_namespaces = max;
        self
    }

    /// Whether a dynamic gateway keeps its empty concrete namespaces.
    ///
    /// ```
    /// assert!(!gateway_core::GatewayOptions::new("/w/{id}").keep_empty());
    /// ```
    pub fn keep_empty(&self) -> bool {
        self.keep_empty
    }

    /// The most concrete namespaces a dynamic gateway keeps live at once.
    ///
    /// ```
    /// use gateway_core::{GatewayOptions, DEFAULT_MAX_LIVE_NAMESPACES};
    /// assert_eq!(GatewayOptions::new("/w/{id}").max_live_namespaces(), DEFAULT_MAX_LIVE_NAMESPACES);
    /// ```
    pub fn max_live_namespaces(&self) -> usize {
        self.max_live_namespaces
    }

    /// Whether the namespace has `{parameters}`: a dynamic gateway, whose concrete namespaces
    /// are created as clients connect to them.
    ///
    /// ```
    /// use gateway_core::GatewayOptions;
    /// assert!(GatewayOptions::new("/workspaces/{workspace}").is_dynamic());
    /// assert!(!GatewayOptions::new("/chat").is_dynamic());
    /// ```
    pub fn is_dynamic(&self) -> bool {
        self.namespace_is_regex
            || crate::namespace_pattern::NamespacePattern::is_pattern(&self.namespace)
    }

    /// Whether [`namespace`](Self::namespace) is a regular expression
    /// ([`GatewayOptions::regex`]).
    ///
    /// ```
    /// use gateway_core::GatewayOptions;
    /// assert!(GatewayOptions::regex("^/w/[a-z]+$").namespace_is_regex());
    /// assert!(!GatewayOptions::new("/w/{id}").namespace_is_regex());
    /// ```
    pub fn namespace_is_regex(&self) -> bool {
        self.namespace_is_regex
    }

    /// The namespace, e.g. `/chat` (for a dynamic gateway, its pattern or regular expression).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The URL path of the JSON wire format (for a dynamic gateway, the namespace pattern: a
    /// client connects at the concrete namespace's path, e.g. `/workspaces/acme`).
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.namespace)
    }

    /// The port (`0`: the app's main listener).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Which browser origins may connect.
    pub fn allowed_origins(&self) -> &AllowedOrigins {
        &self.allowed_origins
    }

    /// What a full send queue does to this gateway's sockets.
    ///
    /// ```
    /// let options = gateway_core::GatewayOptions::new("/chat");
    /// assert_eq!(options.full_queue(), gateway_core::FullQueue::Disconnect);
    /// ```
    pub fn full_queue(&self) -> FullQueue {
        self.full_queue
    }
}

fn with_leading_slash(s: String) -> String {
    if s.starts_with('/') {
        s
    } else {
        format!("/{s}")
    }
}

/// Which `Origin` headers an upgrade may carry (NestJS `cors: { origin }`).
///
/// ```
/// use gateway_core::AllowedOrigins;
/// assert!(AllowedOrigins::Any.allows(Some("http://anything")));
/// let list = AllowedOrigins::List(vec!["https://app.example".into()]);
/// assert!(list.allows(None)); // not a browser
/// assert!(!list.allows(Some("https://other.example")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (the default, as NestJS's ws adapter).
    #[default]
    Any,
    /// Only these exact origins.
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Whether a request with this `Origin` header may connect.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match (self, origin) {
            (Self::Any, _) | (_, None) => true,
            (Self::List(list), Some(origin)) => list.iter().any(|o| o == origin),
        }
    }
}

/// What a gateway does when a socket's send queue is full (its frame or byte bound): see
/// [`GatewayOptions::with_full_queue`](crate::GatewayOptions::with_full_queue).
///
/// ```
/// use gateway_core::{FullQueue, GatewayOptions};
/// let options = GatewayOptions::new("/ticker").with_full_queue(FullQueue::DropNewest);
/// assert_eq!(options.full_queue(), FullQueue::DropNewest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FullQueue {
    /// Close the connection with 1008 (a client that cannot keep up is disconnected rather
    /// than buffered without bound). The default.
    #[default]
    Disconnect,
    /// Drop the frame that does not fit and keep the connection: for feeds where the newest
    /// value replaces the last (prices, positions), where a gap is better than a disconnect.
    DropNewest,
}
