//! [`BuildError`]: what is inconsistent in an app's configuration.

/// The app was configured inconsistently (e.g. an event handled twice, two gateways on one path).
#[derive(Debug, thiserror::Error)]
#[error("invalid gateway app: {}", problems.join("; "))]
pub struct BuildError {
    problems: Vec<String>,
}

impl BuildError {
    pub(crate) fn new(problems: Vec<String>) -> Self {
        Self { problems }
    }

    /// Each problem found, in registration order.
    ///
    /// ```
    /// # struct G;
    /// # impl gateway_core::Gateway for G {
    /// #     fn options(&self) -> gateway_core::GatewayOptions { gateway_core::GatewayOptions::new("/g") }
    /// #     fn register(self: std::sync::Arc<Self>, _: &mut gateway_core::GatewayBuilder) {}
    /// # }
    /// let err = gateway_core::GatewayApp::builder().gateway(G).gateway(G).build().unwrap_err();
    /// assert_eq!(err.problems().len(), 1);
    /// ```
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}
