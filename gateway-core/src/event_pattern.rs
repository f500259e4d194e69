//! [`EventPattern`]: which published event names an `#[on_event]` handler receives.
//!
//! The rules are EventEmitter2's with `wildcard: true` and `.` as the delimiter (what
//! `@nestjs/event-emitter` users configure): a name is split at each `.` into segments, `*` stands
//! for exactly one segment and `**` for any number of them, none included. gateway-macros checks
//! the same syntax at compile time (`gateway-macros/src/args.rs`); keep the two in step.

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Matches this text only.
    Literal(Box<str>),
    /// `*`: any one segment.
    One,
    /// `**`: any number of segments, none included.
    Any,
}

/// A parsed subscription pattern such as `order.created`, `order.*` or `audit.**`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventPattern {
    text: Box<str>,
    segments: Vec<Segment>,
}

impl EventPattern {
    /// Parses `pattern`; the error says what is wrong with it.
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("an event pattern cannot be empty".to_owned());
        }
        let mut segments = Vec::new();
        for segment in pattern.split('.') {
            segments.push(match segment {
                "" => {
                    return Err(
                        "it has an empty segment: segments are separated by single dots, \
                         with none at either end"
                            .to_owned(),
                    )
                }
                "*" => Segment::One,
                "**" => Segment::Any,
                // EventEmitter2 would take `ord*` literally; a literal star is more likely a
                // mistake than an event name.
                _ if segment.contains('*') => {
                    return Err(format!(
                        "`*` stands for a whole segment (`order.*`), not part of one (`{segment}`)"
                    ))
                }
                literal => Segment::Literal(literal.into()),
            });
        }
        Ok(Self {
            text: pattern.into(),
            segments,
        })
    }

    /// The pattern as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the event whose name split at each `.` is `name` matches.
    ///
    /// Glob matching over segments: `**` first matches nothing, and on a mismatch the last `**`
    /// seen takes one more segment. Backtracking to the last `**` only is enough, because any
    /// match of the earlier ones can be kept.
    pub(crate) fn matches(&self, name: &[&str]) -> bool {
        let (mut p, mut n) = (0, 0);
        // (pattern index after the last `**`, name index where that `**`'s match ends)
        let mut last_any: Option<(usize, usize)> = None;
        while n < name.len() {
            match self.segments.get(p) {
                Some(Segment::Any) => {
                    last_any = Some((p + 1, n));
                    p += 1;
                    continue;
                }
                Some(Segment::One) => {
                    p += 1;
                    n += 1;
                    continue;
                }
                Some(Segment::Literal(text)) if **text == *name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
            match last_any {
                Some((after, end)) => {
                    p = after;
                    n = end + 1;
                    last_any = Some((after, end + 1));
                }
                None => return false,
            }
        }
        self.segments[p..].iter().all(|s| *s == Segment::Any)
    }
}

/// `name` split into the segments [`EventPattern::matches`] compares.
pub(crate) fn segments(name: &str) -> Vec<&str> {
    name.split('.').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        EventPattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .matches(&segments(name))
    }

    #[test]
    fn a_literal_pattern_matches_its_name_only() {
        assert!(matches("order.created", "order.created"));
        assert!(matches("ping", "ping"));
        assert!(!matches("order.created", "order.created.late"));
        assert!(!matches("order.created", "order"));
        assert!(!matches("order.created", "order.shipped"));
        assert!(!matches("order", "orders"));
    }

    #[test]
    fn a_star_is_exactly_one_segment() {
        assert!(matches("order.*", "order.created"));
        assert!(matches("order.*", "order.shipped"));
        assert!(!matches("order.*", "order"));
        assert!(!matches("order.*", "order.item.added"));
        assert!(matches("*.created", "user.created"));
        assert!(matches("order.*.eu", "order.created.eu"));
        assert!(!matches("order.*.eu", "order.created.us"));
        assert!(matches("*.*", "a.b"));
        assert!(!matches("*", "a.b"));
        assert!(matches("*", "a"));
    }

    #[test]
    fn a_double_star_is_any_number_of_segments_none_included() {
        assert!(matches("order.**", "order"));
        assert!(matches("order.**", "order.created"));
        assert!(matches("order.**", "order.item.added"));
        assert!(!matches("order.**", "user.created"));
        assert!(matches("**", "anything.at.all"));
        assert!(matches("**", "x"));
        assert!(matches("**.failed", "failed"));
        assert!(matches("**.failed", "payment.card.failed"));
        assert!(!matches("**.failed", "payment.failed.retry"));
        assert!(matches("order.**.eu", "order.eu"));
        assert!(matches("order.**.eu", "order.a.b.eu"));
        assert!(!matches("order.**.eu", "order.a.b.us"));
    }

    #[test]
    fn several_wildcards_backtrack() {
        assert!(matches("**.b.**.c", "a.b.x.b.y.c"));
        assert!(matches("**.b.*.c", "b.b.x.c"));
        assert!(!matches("**.b.*.c", "b.x.y.c"));
        assert!(matches("a.**.**.b", "a.b"));
        assert!(matches("*.**", "a"));
        assert!(matches("foo.*.bar.*", "foo.x.bar.y"));
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_reason() {
        assert!(EventPattern::parse("").is_err());
        for pattern in ["order.", ".order", "order..created"] {
            let error = EventPattern::parse(pattern).unwrap_err();
            assert!(error.contains("empty segment"), "{pattern}: {error}");
        }
        for pattern in ["ord*", "order.*s", "***", "a.b*c"] {
            let error = EventPattern::parse(pattern).unwrap_err();
            assert!(error.contains("whole segment"), "{pattern}: {error}");
        }
    }
}
