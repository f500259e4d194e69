//! [`common_settings!`]: the settings and state every Redis adapter offers under the same
//! names (`with_requests_timeout`, `with_required_at_startup`, `with_reconnect_delay`,
//! `with_publish_queue_capacity`, `uid`, `status`, `is_connected`, `dropped_messages`), for a
//! type with the fields `config: Config`, `uid: String` and `status: AdapterStatus`.

/// Expands to an inherent `impl` of the shared methods. `$ty` is the adapter's type with its
/// generics, `$new` an expression building one (for the doc examples).
macro_rules! common_settings {
    (impl [$($generics:tt)*] $ty:ty, new: $new:literal) => {
        impl<$($generics)*> $ty {
            /// How long fetching sockets, server-side emits with acks and counting instances
            /// wait for the other instances (default 5 s, as `requestsTimeout` in the JS
            /// adapters).
            ///
            #[doc = concat!("```\nlet adapter = ", $new, "\n    .with_requests_timeout(std::time::Duration::from_secs(2));\n```")]
            pub fn with_requests_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.config.requests_timeout = timeout;
                self
            }

            /// Whether the app must fail to start when Redis is unreachable (default `false`:
            /// it starts serving its own clients only, says so in the log, and keeps trying).
            ///
            #[doc = concat!("```\nlet adapter = ", $new, "\n    .with_required_at_startup(true);\n```")]
            pub fn with_required_at_startup(mut self, required: bool) -> Self {
                self.config.required_at_startup = required;
                self
            }

            /// The first and the longest wait between reconnection attempts (default 100 ms and
            /// 2 s; each failed attempt doubles the wait, with jitter).
            ///
            #[doc = concat!("```\nuse std::time::Duration;\nlet adapter = ", $new, "\n    .with_reconnect_delay(Duration::from_millis(50), Duration::from_secs(5));\n```")]
            pub fn with_reconnect_delay(
                mut self,
                min: std::time::Duration,
                max: std::time::Duration,
            ) -> Self {
                let min = min.max(std::time::Duration::from_millis(1));
                self.config.reconnect_delay_min = min;
                self.config.reconnect_delay_max = max.max(min);
                self
            }

            /// How many messages for other instances may wait to be written to Redis (default
            /// 16 384); beyond that, while Redis is slow or away, new ones are dropped and
            /// counted ([`dropped_messages`](Self::dropped_messages)).
            ///
            #[doc = concat!("```\nlet adapter = ", $new, "\n    .with_publish_queue_capacity(1024);\n```")]
            pub fn with_publish_queue_capacity(mut self, capacity: usize) -> Self {
                self.config.publish_queue_capacity = capacity.max(1);
                self
            }

            /// This instance's id in the cluster (`uid` in the messages).
            ///
            #[doc = concat!("```\nlet adapter = ", $new, ";\nassert!(!adapter.uid().is_empty());\n```")]
            pub fn uid(&self) -> &str {
                &self.uid
            }

            /// Whether the adapter hears the other instances right now.
            ///
            #[doc = concat!("```\nlet adapter = ", $new, ";\nassert!(!adapter.is_connected()); // not started\n```")]
            pub fn is_connected(&self) -> bool {
                self.status.is_connected()
            }

            /// A handle on [`is_connected`](Self::is_connected) and
            /// [`dropped_messages`](Self::dropped_messages) that stays usable after the
            /// adapter has moved into the app, for health checks and metrics.
            ///
            #[doc = concat!("```\nlet adapter = ", $new, ";\nlet status = adapter.status();\nlet app = gateway_core::GatewayApp::builder().with_adapter(adapter).build().unwrap();\nassert!(!status.is_connected());\n```")]
            pub fn status(&self) -> $crate::AdapterStatus {
                self.status.clone()
            }

            /// How many messages for other instances were dropped because Redis was
            /// unreachable or the queue was full.
            ///
            #[doc = concat!("```\nlet adapter = ", $new, ";\nassert_eq!(adapter.dropped_messages(), 0);\n```")]
            pub fn dropped_messages(&self) -> u64 {
                self.status.dropped_messages()
            }
        }
    };
}
pub(crate) use common_settings;
