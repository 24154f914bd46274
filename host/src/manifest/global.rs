//! Reading a [`GlobalValue`] from a plain YAML or JSON value.
//!
//! A derived untagged enum would report any mistake as "data did not match
//! any variant"; this visitor says what is accepted and keeps the field path
//! (`spec.globals.name[3]`) for a bad byte.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use super::spec::GlobalValue;

impl<'de> Deserialize<'de> for GlobalValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GlobalValueVisitor)
    }
}

/// Maps each YAML/JSON value type to its [`GlobalValue`] variant.
struct GlobalValueVisitor;

impl<'de> Visitor<'de> for GlobalValueVisitor {
    type Value = GlobalValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bool, an integer, a string or a list of bytes")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<GlobalValue, E> {
        Ok(GlobalValue::Bool(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<GlobalValue, E> {
        Ok(GlobalValue::Unsigned(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<GlobalValue, E> {
        Ok(u64::try_from(value).map_or(GlobalValue::Signed(value), GlobalValue::Unsigned))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<GlobalValue, E> {
        Ok(GlobalValue::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<GlobalValue, E> {
        Ok(GlobalValue::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GlobalValue, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(GlobalValue::Bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(yaml: &str) -> Result<BTreeMap<String, GlobalValue>, String> {
        let value: serde_json::Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        serde_path_to_error::deserialize(&value).map_err(|e| e.to_string())
    }

    #[test]
    fn each_value_type_has_its_variant() {
        let globals = parse("{b: true, u: 42, s: -1, t: eth0, raw: [1, 2, 255]}").expect("valid");
        assert_eq!(globals["b"], GlobalValue::Bool(true));
        assert_eq!(globals["u"], GlobalValue::Unsigned(42));
        assert_eq!(globals["s"], GlobalValue::Signed(-1));
        assert_eq!(globals["t"], GlobalValue::String("eth0".into()));
        assert_eq!(globals["raw"], GlobalValue::Bytes(vec![1, 2, 255]));
    }

    #[test]
    fn wrong_values_say_what_is_accepted() {
        assert_eq!(
            parse("{x: 1.5}").expect_err("float"),
            "x: invalid type: floating point `1.5`, expected a bool, an integer, a string or a list of bytes"
        );
        assert_eq!(
            parse("{x: [1, 300]}").expect_err("not a byte"),
            "x[1]: invalid value: integer `300`, expected u8"
        );
    }
}
