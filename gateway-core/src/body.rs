//! Reading a message body into its Rust type, as strictly as a NestJS DTO reads it.
//!
//! serde's derive reads a struct from a JSON array too (`["id", "hi"]` as `{roomId, message}`);
//! class-transformer does not, so a body that is an array never becomes a struct here.

use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};

/// `raw` (JSON text) as a `T`; an array is refused where `T` wants a struct.
pub(crate) fn from_text<T: DeserializeOwned>(raw: &str) -> Result<T, serde_json::Error> {
    let mut text = serde_json::Deserializer::from_str(raw);
    let value = T::deserialize(NoArrayStruct {
        inner: &mut text,
        is_array: raw.trim_start().starts_with('['),
    })?;
    text.end()?;
    Ok(value)
}

/// `deserializer`, refusing to read a struct from it when it holds an array (`is_array`).
pub(crate) fn no_array_struct<D>(deserializer: D, is_array: bool) -> NoArrayStruct<D> {
    NoArrayStruct {
        inner: deserializer,
        is_array,
    }
}

/// A deserializer that reads everything as its inner one does, except a struct from an array.
pub(crate) struct NoArrayStruct<D> {
    inner: D,
    is_array: bool,
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for NoArrayStruct<D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        if self.is_array {
            return Err(de::Error::invalid_type(Unexpected::Seq, &"an object"));
        }
        self.inner.deserialize_struct(name, fields, visitor)
    }

    forward! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Dto {
        a: String,
        b: u8,
    }

    #[test]
    fn an_array_is_no_struct() {
        assert!(from_text::<Dto>(r#"["x", 1]"#).is_err());
        assert!(from_text::<Dto>(r#" ["x", 1]"#).is_err());
        assert_eq!(
            from_text::<Dto>(r#"{"a":"x","b":1}"#).unwrap(),
            Dto {
                a: "x".into(),
                b: 1
            }
        );
    }

    #[test]
    fn arrays_still_read_as_lists_and_tuples() {
        assert_eq!(from_text::<Vec<u8>>("[1,2]").unwrap(), vec![1, 2]);
        assert_eq!(
            from_text::<(String, u8)>(r#"["x",1]"#).unwrap(),
            ("x".into(), 1)
        );
        assert!(from_text::<u8>("1 2").is_err());
    }
}
