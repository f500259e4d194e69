//! Reading a refused body leniently: a `Deserializer` over a JSON value that records each value
//! of the wrong type (or missing) as a [`Mismatch`] and hands serde a stand-in instead.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::Deserializer;
use serde_json::Value;

use super::mismatch::{Expected, Mismatch, Reading, StandIn, LONG_STAND_IN};

/// A DTO has at most this many missing fields found one at a time.
const MAX_RETRIES: usize = 256;

/// Reads `json` as a `T`, standing in for every value that does not fit. `None` if even that
/// fails (an enum, a tuple of the wrong length…).
pub(super) fn read<T: DeserializeOwned>(json: &Value, stand_in: StandIn) -> Option<Reading<T>> {
    let probe = Probe {
        stand_in,
        mismatches: RefCell::default(),
        absent: RefCell::default(),
        fields: Cell::new(&[]),
    };
    for _ in 0..MAX_RETRIES {
        probe.mismatches.borrow_mut().clear();
        let root = Lenient {
            value: Some(json),
            path: String::new(),
            probe: &probe,
        };
        match T::deserialize(root) {
            Ok(value) => {
                return Some(Reading {
                    value,
                    fields: probe.fields.get(),
                    mismatches: probe.mismatches.take(),
                })
            }
            Err(ProbeError::Retry) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// The fields of struct `T` in declaration order (serde names), or `None` if it is no struct.
pub(crate) fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    struct Fields(Cell<Option<&'static [&'static str]>>);
    impl<'de> Deserializer<'de> for &Fields {
        type Error = ProbeError;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeError> {
            Err(ProbeError::Other)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, ProbeError> {
            self.0.set(Some(fields));
            Err(ProbeError::Other)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let fields = Fields(Cell::new(None));
    let _ = T::deserialize(&fields);
    fields.0.get()
}

pub(super) struct Probe {
    pub(super) stand_in: StandIn,
    pub(super) mismatches: RefCell<Vec<Mismatch>>,
    /// Fields serde reported missing: given an absent value (and so recorded) from then on.
    pub(super) absent: RefCell<HashSet<String>>,
    pub(super) fields: Cell<&'static [&'static str]>,
}

impl Probe {
    fn mismatch(&self, path: &str, expected: Expected, value: Option<&Value>) {
        self.mismatches.borrow_mut().push(Mismatch {
            path: path.to_owned(),
            expected,
            value: value.filter(|v| !v.is_null()).cloned(),
        });
    }

    fn high(&self) -> bool {
        self.stand_in == StandIn::High
    }
}

#[derive(Debug)]
pub(super) enum ProbeError {
    /// A field was missing; it is now in `Probe::absent`: read again.
    Retry,
    Missing(&'static str),
    Other,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the body does not fit its type")
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<M: fmt::Display>(_: M) -> Self {
        ProbeError::Other
    }
    fn missing_field(field: &'static str) -> Self {
        ProbeError::Missing(field)
    }
}

/// One value of the body (`None`: absent), read leniently.
pub(super) struct Lenient<'a, 'p> {
    pub(super) value: Option<&'a Value>,
    pub(super) path: String,
    pub(super) probe: &'p Probe,
}

impl<'a> Lenient<'a, '_> {
    fn child(&self, name: &str, value: Option<&'a Value>) -> Self {
        let path = if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        };
        Lenient {
            value,
            path,
            probe: self.probe,
        }
    }

    fn mismatch(&self, expected: Expected) {
        self.probe.mismatch(&self.path, expected, self.value);
    }

    /// An integer in `min..=max`, or the stand-in after recording a mismatch.
    fn integer(&self, min: i128, max: i128) -> i128 {
        let fits = self.value.and_then(|v| match v {
            Value::Number(n) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from)),
            _ => None,
        });
        match fits {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                self.mismatch(Expected::Integer);
                if self.probe.high() {
                    max
                } else {
                    min
                }
            }
        }
    }

    fn float(&self, min: f64, max: f64) -> f64 {
        match self.value.and_then(Value::as_f64) {
            Some(n) => n,
            None => {
                self.mismatch(Expected::Number);
                if self.probe.high() {
                    max
                } else {
                    min
                }
            }
        }
    }
}

fn json_error(_: serde_json::Error) -> ProbeError {
    ProbeError::Other
}

macro_rules! integers {
    ($($method:ident $ty:ty => $visit:ident $as:ty;)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            // In range by construction.
            let n = self.integer(<$ty>::MIN as i128, <$ty>::MAX as i128);
            visitor.$visit(n as $as)
        }
    )*};
}

impl<'a> Deserializer<'a> for Lenient<'a, '_> {
    type Error = ProbeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match self.value {
            Some(v) => v.deserialize_any(visitor).map_err(json_error),
            None => visitor.visit_unit(),
        }
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match self.value {
            Some(Value::Bool(b)) => visitor.visit_bool(*b),
            _ => {
                self.mismatch(Expected::Boolean);
                visitor.visit_bool(self.probe.high())
            }
        }
    }

    integers! {
        deserialize_i8 i8 => visit_i64 i64;
        deserialize_i16 i16 => visit_i64 i64;
        deserialize_i32 i32 => visit_i64 i64;
        deserialize_i64 i64 => visit_i64 i64;
        deserialize_u8 u8 => visit_u64 u64;
        deserialize_u16 u16 => visit_u64 u64;
        deserialize_u32 u32 => visit_u64 u64;
        deserialize_u64 u64 => visit_u64 u64;
    }

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_f64(self.float(f64::from(f32::MIN), f64::from(f32::MAX)))
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_f64(self.float(f64::MIN, f64::MAX))
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match self.value {
            Some(Value::String(s)) if s.chars().count() == 1 => v_char(visitor, s),
            _ => {
                self.mismatch(Expected::String);
                visitor.visit_char('\u{1}')
            }
        }
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match self.value {
            Some(Value::String(s)) => visitor.visit_borrowed_str(s),
            _ => {
                self.mismatch(Expected::String);
                if self.probe.high() {
                    visitor.visit_string("\u{1}".repeat(LONG_STAND_IN))
                } else {
                    visitor.visit_string(String::new())
                }
            }
        }
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        match self.value {
            None | Some(Value::Null) => visitor.visit_none(),
            Some(_) => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        let items: &[Value] = match self.value {
            Some(Value::Array(items)) => items,
            _ => {
                self.mismatch(Expected::Array);
                &[]
            }
        };
        visitor.visit_seq(LenientSeq {
            items: items.iter().enumerate(),
            parent: &self,
        })
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        let entries: Vec<(&'a str, Option<&'a Value>)> = match self.value {
            Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.as_str(), Some(v))).collect(),
            _ => {
                self.mismatch(Expected::Object);
                Vec::new()
            }
        };
        visitor.visit_map(LenientMap {
            entries: entries.into_iter(),
            pending: None,
            parent: &self,
        })
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        if self.path.is_empty() {
            self.probe.fields.set(fields);
        }
        let object = match self.value {
            Some(Value::Object(map)) => Some(map),
            // The root is the whole body: a body that is no object reads as `{}`, as NestJS's
            // ValidationPipe validates it.
            _ if self.path.is_empty() => None,
            _ => {
                self.mismatch(Expected::Object);
                None
            }
        };
        let absent = self.probe.absent.borrow().clone();
        let entries: Vec<(&'a str, Option<&'a Value>)> = fields
            .iter()
            .filter_map(|&field| {
                let value = object.and_then(|o| o.get(field));
                let known_absent = absent.contains(&self.child(field, None).path);
                (value.is_some() || known_absent).then_some((field, value))
            })
            .collect();
        let result = visitor.visit_map(LenientMap {
            entries: entries.into_iter(),
            pending: None,
            parent: &self,
        });
        match result {
            Err(ProbeError::Missing(field)) => {
                let path = self.child(field, None).path;
                if self.probe.absent.borrow_mut().insert(path) {
                    Err(ProbeError::Retry)
                } else {
                    Err(ProbeError::Other)
                }
            }
            other => other,
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        match self.value {
            Some(v) => v
                .deserialize_enum(name, variants, visitor)
                .map_err(json_error),
            None => Err(ProbeError::Other),
        }
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }
}

fn v_char<'a, V: Visitor<'a>>(visitor: V, s: &str) -> Result<V::Value, ProbeError> {
    match s.chars().next() {
        Some(c) => visitor.visit_char(c),
        None => Err(ProbeError::Other),
    }
}

struct LenientSeq<'a, 'p, 'l, I: Iterator<Item = (usize, &'a Value)>> {
    items: I,
    parent: &'l Lenient<'a, 'p>,
}

impl<'a, I: Iterator<Item = (usize, &'a Value)>> SeqAccess<'a> for LenientSeq<'a, '_, '_, I> {
    type Error = ProbeError;

    fn next_element_seed<S: DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ProbeError> {
        match self.items.next() {
            Some((index, item)) => seed
                .deserialize(self.parent.child(&index.to_string(), Some(item)))
                .map(Some),
            None => Ok(None),
        }
    }
}

struct LenientMap<'a, 'p, 'l, I: Iterator<Item = (&'a str, Option<&'a Value>)>> {
    entries: I,
    pending: Option<(&'a str, Option<&'a Value>)>,
    parent: &'l Lenient<'a, 'p>,
}

impl<'a, I: Iterator<Item = (&'a str, Option<&'a Value>)>> MapAccess<'a>
    for LenientMap<'a, '_, '_, I>
{
    type Error = ProbeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some(entry);
        let key: StrDeserializer<'_, ProbeError> = entry.0.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'a>>(&mut self, seed: S) -> Result<S::Value, ProbeError> {
        let (key, value) = self.pending.take().ok_or(ProbeError::Other)?;
        // An absent field serde needs is recorded by the reading of its type, as a mismatch
        // without a value.
        seed.deserialize(self.parent.child(key, value))
    }
}
