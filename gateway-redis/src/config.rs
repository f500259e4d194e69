//! [`Config`]: the settings a [`RedisAdapter`](crate::RedisAdapter) is built with.

use std::time::Duration;

/// Settings of a [`RedisAdapter`](crate::RedisAdapter), set through its `with_*` methods.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) key_prefix: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) required_at_startup: bool,
    pub(crate) reconnect_delay_min: Duration,
    pub(crate) reconnect_delay_max: Duration,
    pub(crate) publish_queue_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            key_prefix: "socket.io".into(),
            requests_timeout: Duration::from_secs(5),
            required_at_startup: false,
            reconnect_delay_min: Duration::from_millis(100),
            reconnect_delay_max: Duration::from_secs(2),
            publish_queue_capacity: 16_384,
        }
    }
}
