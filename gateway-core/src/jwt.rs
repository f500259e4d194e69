//! JWT authentication (feature `jwt`): [`JwtAuthGuard`], [`RoleGuard`] and the [`Claims`] extractor.
//!
//! ```
//! use gateway_core::jwt::{JwtAuthGuard, RoleGuard};
//!
//! let auth = JwtAuthGuard::hs256("change-me").with_issuer("my-app").with_audience("chat");
//! let admin = RoleGuard::new("admin");
//! ```
//!
//! The guard verifies the token's signature with the configured key and algorithm only (a token
//! claiming `alg: none`, or another algorithm than the key's, is refused), and checks `exp` and
//! `nbf` (with 60 s of leeway by default), and `iss` / `aud` when configured. The verified claims
//! are stored on the socket as [`JwtClaims`] and read with the [`Claims<T>`] extractor.

use std::future::Future;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::pipeline::{ConnectionContext, ConnectionGuard, Credential, ExecutionContext, Guard};
use crate::{FromMessage, Handshake, Message, SocketData, WsException};

/// Where the guard looks for the token, in the order given to [`JwtAuthGuard::with_token_sources`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The Socket.IO CONNECT payload's `auth.token`, as is (a value that is not a string is
    /// an invalid token); JSON-format clients have none.
    AuthPayload,
    /// `Authorization: Bearer <token>`: the text after `Bearer ` up to the next space, as the
    /// guides' `authHeader.split(' ')[1]`.
    AuthorizationHeader,
    /// A URL query parameter, e.g. `?token=…`.
    Query(String),
}

/// The verified claims of a socket's token, stored in its [`SocketData`].
#[derive(Debug, Clone, PartialEq)]
pub struct JwtClaims(pub Value);

/// The key could not be read (a malformed PEM, for example).
#[derive(Debug, thiserror::Error)]
#[error("invalid JWT key: {0}")]
pub struct JwtKeyError(#[from] jsonwebtoken::errors::Error);

/// Authenticates sockets with a JWT (the guides' `WsJwtGuard` / `WsAuthGuard`).
///
/// As a [`ConnectionGuard`] it refuses the upgrade (HTTP 401) without a valid token. As a
/// message [`Guard`] it accepts a socket that already has [`JwtClaims`], else verifies the
/// token of its handshake; failures are `WsException("Unauthorized")` (no token) or
/// `WsException("Invalid token")`.
#[derive(Clone)]
pub struct JwtAuthGuard {
    key: DecodingKey,
    validation: Validation,
    sources: Vec<TokenSource>,
}

impl JwtAuthGuard {
    /// HS256 with a shared secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        Self::new(DecodingKey::from_secret(secret.as_ref()), Algorithm::HS256)
    }

    /// Any HMAC algorithm (HS256, HS384 or HS512) with this shared secret, as `jsonwebtoken`'s
    /// `verify` (behind `@nestjs/jwt`) accepts for a secret.
    ///
    /// ```
    /// let guard = gateway_core::jwt::JwtAuthGuard::hmac("secret");
    /// ```
    pub fn hmac(secret: impl AsRef<[u8]>) -> Self {
        let mut guard = Self::hs256(secret);
        guard.validation.algorithms = vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        guard
    }

    /// RS256 with an RSA public key in PEM.
    pub fn rs256_pem(public_key_pem: &[u8]) -> Result<Self, JwtKeyError> {
        Ok(Self::new(
            DecodingKey::from_rsa_pem(public_key_pem)?,
            Algorithm::RS256,
        ))
    }

    /// ES256 with an EC (P-256) public key in PEM.
    pub fn es256_pem(public_key_pem: &[u8]) -> Result<Self, JwtKeyError> {
        Ok(Self::new(
            DecodingKey::from_ec_pem(public_key_pem)?,
            Algorithm::ES256,
        ))
    }

    fn new(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.validate_nbf = true;
        Self {
            key,
            validation,
            sources: vec![
                TokenSource::AuthPayload,
                TokenSource::AuthorizationHeader,
                TokenSource::Query("token".into()),
            ],
        }
    }

    /// Requires the `iss` claim to be `issuer`.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self
    }

    /// Requires the `aud` claim to include `audience`.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self
    }

    /// Clock skew allowed on `exp` and `nbf`, in seconds (default 60).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.validation.leeway = seconds;
        self
    }

    /// Whether a token must carry `exp` (default `true`: a token without one never expires).
    /// `@nestjs/jwt` accepts tokens without `exp`; `false` does too.
    ///
    /// ```
    /// let nest_like = gateway_core::jwt::JwtAuthGuard::hmac("secret").with_exp_required(false);
    /// ```
    pub fn with_exp_required(mut self, required: bool) -> Self {
        if required {
            self.validation
                .required_spec_claims
                .insert("exp".to_owned());
        } else {
            self.validation.required_spec_claims.remove("exp");
        }
        self
    }

    /// Where to look for the token, in order (default: auth payload, `Authorization` header,
    /// `token` query parameter).
    pub fn with_token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.sources = sources.into_iter().collect();
        self
    }

    /// The token of `handshake`, from the first source that has one, even an empty or invalid
    /// one (later sources are not tried then, as in the guides' `extractToken`).
    pub fn token<'a>(&self, handshake: &'a Handshake) -> Option<&'a str> {
        self.sources.iter().find_map(|source| match source {
            TokenSource::AuthPayload => handshake
                .auth()
                .and_then(|auth| auth.get("token"))
                .filter(|token| !token.is_null())
                .map(|token| token.as_str().unwrap_or("")),
            TokenSource::AuthorizationHeader => handshake
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(|rest| rest.split(' ').next().unwrap_or("")),
            TokenSource::Query(name) => handshake.query(name),
        })
    }

    /// Where this guard looks for the token, in order, as the API description's security
    /// schemes state it.
    ///
    /// ```
    /// use gateway_core::jwt::{JwtAuthGuard, TokenSource};
    /// use gateway_core::pipeline::Credential;
    ///
    /// let guard = JwtAuthGuard::hmac("secret").with_token_sources([TokenSource::AuthorizationHeader]);
    /// assert_eq!(guard.credentials(), [Credential::BearerHeader]);
    /// ```
    pub fn credentials(&self) -> Vec<Credential> {
        self.sources
            .iter()
            .map(|source| match source {
                TokenSource::AuthPayload => Credential::SocketIoAuth,
                TokenSource::AuthorizationHeader => Credential::BearerHeader,
                TokenSource::Query(name) => Credential::Query(name.clone()),
            })
            .collect()
    }

    /// Verifies `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<JwtClaims, WsException> {
        jsonwebtoken::decode::<Value>(token, &self.key, &self.validation)
            .map(|data| JwtClaims(data.claims))
            .map_err(|e| {
                tracing::debug!(error = %e, "JWT refused");
                WsException::new("Invalid token")
            })
    }

    /// Verifies the token of `handshake` and stores its claims in `data`.
    fn authenticate(&self, handshake: &Handshake, data: &SocketData) -> Result<bool, WsException> {
        let token = self
            .token(handshake)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| WsException::new("Unauthorized"))?;
        data.insert(self.verify(token)?);
        Ok(true)
    }
}

impl std::fmt::Debug for JwtAuthGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthGuard")
            .field("algorithms", &self.validation.algorithms)
            .field("sources", &self.sources)
            .finish()
    }
}

impl ConnectionGuard for JwtAuthGuard {
    fn can_connect(
        &self,
        cx: &ConnectionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send {
        std::future::ready(self.authenticate(cx.handshake(), cx.data()))
    }

    fn credentials(&self) -> Vec<Credential> {
        JwtAuthGuard::credentials(self)
    }
}

impl Guard for JwtAuthGuard {
    fn can_activate(
        &self,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send {
        let socket = cx.socket();
        let verdict = if socket.data().contains::<JwtClaims>() {
            Ok(true)
        } else {
            self.authenticate(socket.handshake(), socket.data())
        };
        std::future::ready(verdict)
    }

    fn credentials(&self) -> Vec<Credential> {
        JwtAuthGuard::credentials(self)
    }
}

/// Lets a socket through only if its [`JwtClaims`] carry one of the roles (the guides'
/// `WsRoleGuard`): a `role` string claim or a `roles` array claim. Otherwise
/// `WsException("Forbidden")`; without claims, `WsException("Unauthorized")`.
#[derive(Debug, Clone)]
pub struct RoleGuard {
    roles: Vec<String>,
}

impl RoleGuard {
    /// Requires `role`.
    pub fn new(role: impl Into<String>) -> Self {
        Self {
            roles: vec![role.into()],
        }
    }

    /// Requires any one of `roles`.
    pub fn any_of<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }

    fn allows(&self, claims: &Value) -> bool {
        let role = claims.get("role").and_then(Value::as_str);
        let roles = claims
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        role.into_iter()
            .chain(roles)
            .any(|r| self.roles.iter().any(|needed| needed == r))
    }
}

impl Guard for RoleGuard {
    fn can_activate(
        &self,
        cx: &ExecutionContext,
    ) -> impl Future<Output = Result<bool, WsException>> + Send {
        let verdict = match cx.socket().data().get::<JwtClaims>() {
            None => Err(WsException::new("Unauthorized")),
            Some(JwtClaims(claims)) if self.allows(&claims) => Ok(true),
            Some(_) => Err(WsException::new("Forbidden")),
        };
        std::future::ready(verdict)
    }
}

/// The socket's verified JWT claims as `T` (set by [`JwtAuthGuard`]).
///
/// ```
/// use gateway_core::jwt::Claims;
/// #[derive(serde::Deserialize)]
/// struct User { sub: String }
/// async fn whoami(Claims(user): Claims<User>) -> String { user.sub }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<T: DeserializeOwned> FromMessage for Claims<T> {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        let JwtClaims(claims) = msg
            .socket()
            .data()
            .get::<JwtClaims>()
            .ok_or_else(|| WsException::new("Unauthorized"))?;
        serde_json::from_value(claims)
            .map(Claims)
            .map_err(|e| WsException::new(format!("Invalid token claims: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "jwt-unit-secret";

    fn handshake(uri: &str, authorization: Option<&str>, auth: Option<Value>) -> Handshake {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert("authorization", value.parse().unwrap());
        }
        let hs = Handshake::new(
            uri.parse().unwrap(),
            headers,
            "127.0.0.1:1".parse().unwrap(),
        );
        match auth {
            Some(auth) => hs.with_auth(auth),
            None => hs,
        }
    }

    fn guide_order() -> JwtAuthGuard {
        JwtAuthGuard::hmac(SECRET).with_token_sources([
            TokenSource::AuthorizationHeader,
            TokenSource::Query("token".into()),
            TokenSource::AuthPayload,
        ])
    }

    #[test]
    fn the_header_token_is_split_as_the_guides_split_it() {
        let guard = guide_order();
        let token = |header| {
            guard
                .token(&handshake("/", Some(header), None))
                .map(str::to_owned)
        };
        assert_eq!(token("Bearer abc"), Some("abc".to_owned()));
        assert_eq!(token("Bearer abc extra"), Some("abc".to_owned()));
        assert_eq!(token("Bearer  abc"), Some(String::new()));
        assert_eq!(token("bearer abc"), None);
    }

    #[test]
    fn the_first_source_present_wins_even_when_invalid() {
        let guard = guide_order();
        let auth = Some(serde_json::json!({"token": "from-auth"}));
        let hs = handshake("/?token=", Some("Basic x"), auth.clone());
        assert_eq!(guard.token(&hs), Some(""));
        let hs = handshake("/", None, auth);
        assert_eq!(guard.token(&hs), Some("from-auth"));
        // Taken as is: a number is an invalid token, a `Bearer ` prefix stays.
        let hs = handshake("/", None, Some(serde_json::json!({"token": 42})));
        assert_eq!(guard.token(&hs), Some(""));
        let hs = handshake("/", None, Some(serde_json::json!({"token": "Bearer x"})));
        assert_eq!(guard.token(&hs), Some("Bearer x"));
        let hs = handshake("/", None, Some(serde_json::json!({"token": null})));
        assert_eq!(guard.token(&hs), None);
    }

    #[test]
    fn exp_is_required_unless_turned_off() {
        let claims = serde_json::json!({"sub": 42});
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(JwtAuthGuard::hmac(SECRET).verify(&token).is_err());
        let nest_like = JwtAuthGuard::hmac(SECRET).with_exp_required(false);
        assert_eq!(nest_like.verify(&token).unwrap(), JwtClaims(claims));
    }
}
