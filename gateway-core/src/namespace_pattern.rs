//! [`NamespacePattern`]: a dynamic gateway's namespace, e.g. `/workspaces/{workspace}` or a
//! regular expression, and the [`NamespaceParams`] a concrete namespace such as
//! `/workspaces/acme` matched it with.

use std::fmt;
use std::sync::Arc;

use crate::{FromMessage, Message, WsException};

/// A namespace with parameters: each `{name}` segment matches one non-empty path segment; or
/// a regular expression whose named groups are the parameters.
#[derive(Debug, Clone)]
pub(crate) enum NamespacePattern {
    Segments(Vec<Segment>),
    Regex(regex::Regex),
}

/// The most memory one compiled namespace expression may take: far above any sensible one.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(Box<str>),
    Param(Box<str>),
}

impl NamespacePattern {
    /// Whether `namespace` declares parameters (a `{` or `}` in it): a dynamic gateway.
    pub(crate) fn is_pattern(namespace: &str) -> bool {
        namespace.contains(['{', '}'])
    }

    /// Parses `namespace` (with its leading `/`); the error says what is wrong with it.
    pub(crate) fn parse(namespace: &str) -> Result<Self, String> {
        let Some(rest) = namespace.strip_prefix('/') else {
            return Err(format!("namespace `{namespace}` must start with `/`"));
        };
        let mut segments = Vec::new();
        for segment in rest.split('/') {
            let parsed = parse_segment(segment)
                .map_err(|why| format!("namespace pattern `{namespace}`: {why}"))?;
            if let Segment::Param(name) = &parsed {
                if segments.contains(&parsed) {
                    return Err(format!(
                        "namespace pattern `{namespace}`: parameter `{name}` appears twice"
                    ));
                }
            }
            segments.push(parsed);
        }
        Ok(Self::Segments(segments))
    }

    /// Compiles `regex` (the `regex` crate's syntax; matching takes linear time, whatever the
    /// expression); the error says what is wrong with it.
    pub(crate) fn regex(regex: &str) -> Result<Self, String> {
        regex::RegexBuilder::new(regex)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Self::Regex)
            .map_err(|e| format!("namespace regex `{regex}`: {e}"))
    }

    /// The parameters `name` matches the pattern with, if it does.
    pub(crate) fn matches(&self, name: &str) -> Option<NamespaceParams> {
        match self {
            Self::Segments(segments) => match_segments(segments, name),
            Self::Regex(regex) => match_regex(regex, name),
        }
    }
}

/// As socket.io tests a RegExp namespace: the expression is searched for in the name; the
/// named groups that took part in the match are the parameters.
fn match_regex(regex: &regex::Regex, name: &str) -> Option<NamespaceParams> {
    let captures = regex.captures(name)?;
    let params: Vec<(Box<str>, Box<str>)> = regex
        .capture_names()
        .flatten()
        .filter_map(|group| Some((Box::from(group), Box::from(captures.name(group)?.as_str()))))
        .collect();
    Some(NamespaceParams(params.into()))
}

/// Each segment in turn: a literal as it is, a parameter as one non-empty segment.
fn match_segments(segments: &[Segment], name: &str) -> Option<NamespaceParams> {
    let rest = name.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let mut params = Vec::new();
    for segment in segments {
        let part = parts.next()?;
        match segment {
            Segment::Literal(literal) if **literal == *part => {}
            Segment::Literal(_) => return None,
            Segment::Param(_) if part.is_empty() => return None,
            Segment::Param(param) => params.push((param.clone(), Box::from(part))),
        }
    }
    if parts.next().is_some() {
        return None;
    }
    Some(NamespaceParams(params.into()))
}

/// One segment: a literal, or a whole `{name}` with a name of letters, digits and `_`.
fn parse_segment(segment: &str) -> Result<Segment, String> {
    if !NamespacePattern::is_pattern(segment) {
        return Ok(Segment::Literal(segment.into()));
    }
    let inner = segment
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .filter(|inner| !inner.contains(['{', '}']))
        .ok_or_else(|| {
            format!("`{segment}`: a parameter is a whole path segment, `{{name}}`, with balanced braces")
        })?;
    if inner.is_empty() {
        return Err("`{}`: a parameter needs a name".to_owned());
    }
    if !inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{segment}`: a parameter name has only letters, digits and `_`"
        ));
    }
    Ok(Segment::Param(inner.into()))
}

impl fmt::Display for NamespacePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let segments = match self {
            Self::Segments(segments) => segments,
            Self::Regex(regex) => return f.write_str(regex.as_str()),
        };
        for segment in segments {
            match segment {
                Segment::Literal(literal) => write!(f, "/{literal}")?,
                Segment::Param(name) => write!(f, "/{{{name}}}")?,
            }
        }
        Ok(())
    }
}

/// The parameters of a dynamic namespace: for a gateway on `/workspaces/{workspace}`, a client
/// of `/workspaces/acme` has `workspace` = `acme`. A fixed namespace has none.
///
/// A handler takes it as an argument; hooks and services read it from the
/// [`Namespace`](crate::Namespace) with [`params`](crate::Namespace::params).
///
/// ```
/// use gateway_core::NamespaceParams;
/// async fn whoami(params: NamespaceParams) -> serde_json::Value {
///     serde_json::json!({ "workspace": params.get("workspace") })
/// }
/// assert_eq!(NamespaceParams::default().get("workspace"), None);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NamespaceParams(Arc<[(Box<str>, Box<str>)]>);

impl NamespaceParams {
    /// The value of parameter `name`, if the pattern has it.
    ///
    /// ```
    /// let params = gateway_core::NamespaceParams::default();
    /// assert!(params.get("workspace").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(param, _)| **param == *name)
            .map(|(_, value)| &**value)
    }

    /// Every parameter as `(name, value)`, in the pattern's order.
    ///
    /// ```
    /// let params = gateway_core::NamespaceParams::default();
    /// assert_eq!(params.iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| (&**name, &**value))
    }
}

impl fmt::Debug for NamespaceParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromMessage for NamespaceParams {
    fn from_message(msg: &Message) -> Result<Self, WsException> {
        Ok(msg.socket().namespace().params().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(s: &str) -> NamespacePattern {
        NamespacePattern::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_parameter_matches_one_non_empty_segment() {
        let p = pattern("/workspaces/{workspace}");
        let params = p.matches("/workspaces/acme").expect("matches");
        assert_eq!(params.get("workspace"), Some("acme"));
        assert_eq!(params.get("other"), None);
        for other in [
            "/workspaces/",
            "/workspaces",
            "/workspaces/acme/x",
            "/workspace/acme",
            "workspaces/acme",
            "/",
            "",
        ] {
            assert!(p.matches(other).is_none(), "{other}");
        }
    }

    #[test]
    fn several_parameters_in_order() {
        let p = pattern("/orgs/{org}/rooms/{room}");
        let params = p.matches("/orgs/a/rooms/b").expect("matches");
        assert_eq!(
            params.iter().collect::<Vec<_>>(),
            [("org", "a"), ("room", "b")]
        );
        assert_eq!(p.to_string(), "/orgs/{org}/rooms/{room}");
        assert!(p.matches("/orgs/a/halls/b").is_none());
    }

    #[test]
    fn a_regex_matches_as_socketio_tests_it_with_named_groups_as_params() {
        let p = NamespacePattern::regex(r"^/workspaces/(?<workspace>[a-z0-9-]+)$").expect("valid");
        let params = p.matches("/workspaces/acme-1").expect("matches");
        assert_eq!(params.get("workspace"), Some("acme-1"));
        assert!(p.matches("/workspaces/ACME").is_none());
        assert!(p.matches("/workspaces/acme/x").is_none());
        // Unanchored, it is searched for, as socket.io's `RegExp.test`.
        let loose = NamespacePattern::regex("^/rooms/").expect("valid");
        assert!(loose.matches("/rooms/anything/at/all").is_some());
        assert!(loose.matches("/other/rooms/").is_none());
        assert_eq!(loose.to_string(), "^/rooms/");
        for bad in ["^/w/(", "[z-a]", "(?<x>a)(?<x>b)"] {
            assert!(NamespacePattern::regex(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "/workspaces/{}",
            "/workspaces/{workspace",
            "/workspaces/workspace}",
            "/workspaces/ws-{id}",
            "/workspaces/{a b}",
            "/w/{x}/{x}",
            "/w/{{x}}",
            "w/{x}",
        ] {
            assert!(NamespacePattern::parse(bad).is_err(), "{bad}");
        }
        assert!(NamespacePattern::is_pattern("/w/{x}"));
        assert!(!NamespacePattern::is_pattern("/chat"));
    }
}
