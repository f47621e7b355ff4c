//! Strict JSON for JOSE headers and JWT claim sets (RFC 8725 §3.7, checklist C16/C17/C19).
//!
//! `serde_json` alone accepts duplicate member names (the last one wins), which is the classic parser
//! differential between a validator and the application behind it. This parser rejects duplicates at
//! every depth, caps the nesting depth, and accepts only UTF-8 (no BOM, no other encodings). It still
//! builds ordinary `serde_json::Value`s in one pass, so callers get the usual types.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why strict parsing failed; mapped onto [`super::JoseError`] by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonIssue {
    /// Not UTF-8 (this includes UTF-16/32 documents).
    NotUtf8,
    /// Not JSON at all, or trailing garbage, or a number out of range.
    Syntax,
    /// The same member name twice in one object.
    DuplicateMember,
    /// More than the allowed levels of nested objects/arrays.
    TooDeep,
    /// The top level is not an object.
    NotObject,
}

/// Parse `bytes` as a JSON object with unique member names and at most `max_depth` nested levels
/// (the top-level object is level 1).
pub(crate) fn parse_object(
    bytes: &[u8],
    max_depth: usize,
) -> Result<Map<String, Value>, JsonIssue> {
    // Checking UTF-8 up front gives one clear answer for every non-UTF-8 input, whatever serde_json
    // would do with it; a UTF-8 BOM is valid UTF-8 but not JSON whitespace, so the parser rejects it.
    let text = std::str::from_utf8(bytes).map_err(|_| JsonIssue::NotUtf8)?;
    let issue = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = StrictSeed {
        depth_left: max_depth,
        issue: &issue,
    };
    let value = match seed.deserialize(&mut de) {
        Ok(v) => v,
        Err(_) => return Err(issue.get().unwrap_or(JsonIssue::Syntax)),
    };
    if de.end().is_err() {
        return Err(JsonIssue::Syntax);
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JsonIssue::NotObject),
    }
}

struct StrictSeed<'a> {
    depth_left: usize,
    issue: &'a Cell<Option<JsonIssue>>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor {
            depth_left: self.depth_left,
            issue: self.issue,
        })
    }
}

struct StrictVisitor<'a> {
    depth_left: usize,
    issue: &'a Cell<Option<JsonIssue>>,
}

impl StrictVisitor<'_> {
    fn fail<E: de::Error>(&self, issue: JsonIssue) -> E {
        self.issue.set(Some(issue));
        E::custom("strict JSON")
    }

    fn child(&self) -> StrictSeed<'_> {
        StrictSeed {
            depth_left: self.depth_left.saturating_sub(1),
            issue: self.issue,
        }
    }
}

impl<'de> Visitor<'de> for StrictVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot express NaN/inf and serde_json rejects overflowing literals, so this
        // only guards against a future change there.
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| self.fail(JsonIssue::Syntax))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth_left == 0 {
            return Err(self.fail(JsonIssue::TooDeep));
        }
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(self.child())? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        if self.depth_left == 0 {
            return Err(self.fail(JsonIssue::TooDeep));
        }
        let mut out = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(self.fail(JsonIssue::DuplicateMember));
            }
            let v = access.next_value_seed(self.child())?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_object_in_order() {
        let m = parse_object(br#" {"b":1,"a":[1,{"x":null}],"c":"s"} "#, 16).unwrap();
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }

    #[test]
    fn duplicate_detected_after_unescaping() {
        assert_eq!(
            parse_object(br#"{"a":1,"\u0061":2}"#, 16),
            Err(JsonIssue::DuplicateMember)
        );
    }

    #[test]
    fn depth_counts_top_level_as_one() {
        assert!(parse_object(br#"{"a":{"b":1}}"#, 2).is_ok());
        assert_eq!(
            parse_object(br#"{"a":{"b":1}}"#, 1),
            Err(JsonIssue::TooDeep)
        );
        assert_eq!(parse_object(br#"{"a":[[1]]}"#, 2), Err(JsonIssue::TooDeep));
    }

    #[test]
    fn non_objects_and_garbage() {
        assert_eq!(parse_object(b"[1]", 16), Err(JsonIssue::NotObject));
        assert_eq!(parse_object(b"{} x", 16), Err(JsonIssue::Syntax));
        assert_eq!(parse_object(b"{\"a\":1e400}", 16), Err(JsonIssue::Syntax));
        assert_eq!(parse_object(b"", 16), Err(JsonIssue::Syntax));
        assert_eq!(parse_object(b"\xff{}", 16), Err(JsonIssue::NotUtf8));
    }
}
