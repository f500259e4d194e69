//! permessage-deflate (RFC 7692): [`PerMessageDeflate`], what the app allows, and the parts that
//! carry it out on one connection.
//!
//! - [`offer`]: the `Sec-WebSocket-Extensions` negotiation in the upgrade.
//! - [`inflate`]: the client's compressed messages, inflated under tungstenite (which has no
//!   extension support) and bounded by the message size limit.
//! - [`compress`]: the server's messages, compressed by the writer task.
//!
//! Off by default, as in socket.io and `ws`; off, a connection has none of this.

pub(crate) mod compress;
pub(crate) mod inflate;
pub(crate) mod offer;
pub(crate) mod pending;

/// Compression of WebSocket messages (permessage-deflate, RFC 7692), for both wire formats:
/// given to [`GatewayAppBuilder::with_per_message_deflate`](crate::GatewayAppBuilder::with_per_message_deflate).
///
/// A client that offers the extension (browsers, npm `ws` and socket.io-client do) gets it; its
/// messages of at least [`threshold`](Self::with_threshold) bytes are compressed, except those
/// sent with [`compress(false)`](crate::BroadcastOperator::compress). The defaults are socket.io's
/// and `ws`'s (a 1024-byte threshold, and both sides keep their compression context from one
/// message to the next: better compression, more memory), at compression level 1 (see the
/// [compression guide](crate::guide::compression)).
///
/// ```
/// use gateway_core::PerMessageDeflate;
/// let app = gateway_core::GatewayApp::builder().with_per_message_deflate(
///     PerMessageDeflate::new()
///         .with_threshold(4096)
///         .with_server_no_context_takeover(true),
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflate {
    pub(crate) threshold: usize,
    pub(crate) level: u32,
    pub(crate) server_no_context_takeover: bool,
    pub(crate) client_no_context_takeover: bool,
}

impl PerMessageDeflate {
    /// socket.io's defaults (a 1024-byte threshold, context takeover on both sides) at
    /// compression level 1.
    ///
    /// ```
    /// let deflate = gateway_core::PerMessageDeflate::new();
    /// assert_eq!(deflate, gateway_core::PerMessageDeflate::default());
    /// ```
    pub fn new() -> Self {
        Self {
            threshold: 1024,
            level: 1,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        }
    }

    /// Messages (each frame's payload: a Socket.IO packet's attachments count one by one)
    /// shorter than this many bytes are sent as they are (default 1024, socket.io's
    /// `perMessageDeflate.threshold`): compressing them costs more than it saves.
    ///
    /// ```
    /// let deflate = gateway_core::PerMessageDeflate::new().with_threshold(16 * 1024);
    /// ```
    pub fn with_threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// How hard the server compresses, 0 (stored, no compression) to 9 (default 1, the fastest
    /// that compresses). The pure-Rust compressor is slower than zlib at the higher levels: on
    /// 16 KiB of JSON records, level 6 (zlib's default, which `ws` uses) took about seven times
    /// the CPU of level 1 for a third fewer bytes (see the
    /// [compression guide](crate::guide::compression)). Values over 9 count as 9.
    ///
    /// ```
    /// let deflate = gateway_core::PerMessageDeflate::new().with_compression_level(6);
    /// ```
    pub fn with_compression_level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Whether the server starts each message with an empty compression context (default
    /// false, `ws`'s `serverNoContextTakeover`). True saves about 160 KiB per connection that
    /// has sent a compressed message (one compressor per thread serves them all) at the cost of
    /// a worse ratio for messages that repeat each other. A client may ask for it in its offer;
    /// it is then used whatever this says.
    ///
    /// ```
    /// let deflate = gateway_core::PerMessageDeflate::new().with_server_no_context_takeover(true);
    /// ```
    pub fn with_server_no_context_takeover(mut self, no_takeover: bool) -> Self {
        self.server_no_context_takeover = no_takeover;
        self
    }

    /// Whether clients are told to start each message with an empty compression context
    /// (default false, `ws`'s `clientNoContextTakeover`). True lets the server drop a
    /// connection's inflater (about 44 KiB) after each message instead of keeping it.
    ///
    /// ```
    /// let deflate = gateway_core::PerMessageDeflate::new().with_client_no_context_takeover(true);
    /// ```
    pub fn with_client_no_context_takeover(mut self, no_takeover: bool) -> Self {
        self.client_no_context_takeover = no_takeover;
        self
    }
}

impl Default for PerMessageDeflate {
    fn default() -> Self {
        Self::new()
    }
}
