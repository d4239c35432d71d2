//! Bytes → [`Incoming`] records, for every shape CloudTrail records are delivered in.
//!
//! Whole-input problems (too large, bad gzip, not JSON at all) are errors; a bad element
//! inside a good container becomes an `Incoming` whose record is `Err`, so nothing is
//! silently dropped and one bad record never hides its neighbours.

use std::io::Read;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::types::{BusMeta, Envelope, Incoming};

/// The largest input accepted, compressed or decompressed (a CloudTrail log file is a few
/// MiB at most; an SQS message at most 256 KiB).
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// Containers nest (an EventBridge event in an SNS notification in an SQS message); deeper
/// than this is not a delivery shape but an attack on the stack.
const MAX_NESTING: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("gzip input decompresses to more than the limit of {limit} bytes")]
    DecompressedTooLarge { limit: usize },
    #[error("input starts like gzip but does not decompress: {0}")]
    BadGzip(String),
    #[error("input is not JSON, a JSON array or JSON lines: {0}")]
    NotJson(String),
}

/// Decodes one input (a file, a request body, a queue message) into its records.
pub fn decode(input: &[u8]) -> Result<Vec<Incoming>, DecodeError> {
    let mut all = Vec::new();
    decode_chunks(input, usize::MAX, &mut |chunk| all.extend(chunk))?;
    Ok(all)
}

/// Records handed over at once by [`decode_chunks`] when streaming.
pub const CHUNK: usize = 1_000;

/// Decodes one input a chunk of at most `chunk` records at a time, handing
/// each to `each` as soon as it is decoded: the records of a CloudTrail file
/// (`{"Records": [...]}`), of a JSON array or of JSON lines are never all in
/// memory at once, only the input's bytes and one chunk. Whole-input errors
/// (too large, bad gzip, not JSON at all) are found before any record is
/// handed over.
pub fn decode_chunks(input: &[u8], chunk: usize, each: &mut dyn FnMut(Vec<Incoming>)) -> Result<(), DecodeError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(DecodeError::TooLarge { size: input.len(), limit: MAX_INPUT_BYTES });
    }
    if input.starts_with(&[0x1f, 0x8b]) {
        let plain = gunzip(input)?;
        return decode_plain(&plain, chunk, each);
    }
    decode_plain(input, chunk, each)
}

fn gunzip(input: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    // Read one byte past the limit so that "exactly at the limit" and "over it" differ.
    let mut reader = flate2::read::MultiGzDecoder::new(input).take(MAX_INPUT_BYTES as u64 + 1);
    reader.read_to_end(&mut out).map_err(|e| DecodeError::BadGzip(e.to_string()))?;
    if out.len() > MAX_INPUT_BYTES {
        return Err(DecodeError::DecompressedTooLarge { limit: MAX_INPUT_BYTES });
    }
    Ok(out)
}

fn decode_plain(input: &[u8], chunk: usize, each: &mut dyn FnMut(Vec<Incoming>)) -> Result<(), DecodeError> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    if input.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let mut out = Out::new(chunk, each);
    // Checked whole first (without building anything), so that a truncated
    // or garbled input is refused before any of its records is handed over.
    match serde_json::from_slice::<IgnoredAny>(input) {
        Ok(_) => {
            let mut de = serde_json::Deserializer::from_slice(input);
            if let Err(e) = TopLevel(&mut out).deserialize(&mut de) {
                // Not expected after the check; said rather than dropped.
                out.push(Envelope::Bare, None, Err(format!("not JSON: {e}")));
            }
        }
        Err(whole) => {
            // JSON lines, one record (or container) per line: handed over as
            // read. Lines that are not JSON wait until one line is, so that
            // an input that is not JSON at all is refused as a whole.
            let mut lines = 0usize;
            let mut waiting: Vec<String> = Vec::new();
            let mut any_json = false;
            for (n, line) in input.split(|&b| b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                lines += 1;
                match serde_json::from_slice::<Value>(line) {
                    Ok(value) => {
                        any_json = true;
                        for why in waiting.drain(..) {
                            out.push(Envelope::Bare, None, Err(why));
                        }
                        out.expand(value, None, 0);
                    }
                    Err(e) => {
                        let why = format!("line {}: not JSON: {e}", n + 1);
                        if any_json {
                            out.push(Envelope::Bare, None, Err(why));
                        } else {
                            waiting.push(why);
                        }
                    }
                }
            }
            // JSON lines only if at least one line is JSON; otherwise the input is not JSON at all.
            if lines < 2 || !any_json {
                return Err(DecodeError::NotJson(whole.to_string()));
            }
        }
    }
    out.flush();
    Ok(())
}

/// The scalar `visit_*` methods of a streaming visitor, each handing the
/// value to the visitor's own `scalar`.
macro_rules! scalars {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(self.scalar(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(self.scalar(Value::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(self.scalar(Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(self.scalar(Value::from(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(self.scalar(Value::from(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(self.scalar(Value::Null))
        }
    };
}

/// The top-level value, streamed: an array's elements and a `Records`
/// array's records are expanded one at a time; anything else is small and
/// read whole.
struct TopLevel<'o, 'f>(&'o mut Out<'f>);

impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("CloudTrail input")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            self.0.expand(value, None, 1);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" && !streamed {
                match map.next_value_seed(Records(self.0))? {
                    None => streamed = true,
                    Some(other) => {
                        rest.insert(key, other);
                    }
                }
            } else {
                let value: Value = map.next_value()?;
                rest.insert(key, value);
            }
        }
        if !streamed {
            self.0.expand(Value::Object(rest), None, 0);
        }
        Ok(())
    }

    scalars!();
}

impl TopLevel<'_, '_> {
    /// A scalar at the top is not CloudTrail: expanded, it says so.
    fn scalar(self, v: Value) {
        self.0.expand(v, None, 0);
    }
}

/// A top-level `Records` value: an array is streamed record by record
/// (`None`), anything else is returned to be read as part of the object.
struct Records<'o, 'f>(&'o mut Out<'f>);

impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
    type Value = Option<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Records array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        while let Some(rec) = seq.next_element::<Value>()? {
            self.0.record(rec, None, 0);
        }
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        Ok(Some(Value::deserialize(de::value::MapAccessDeserializer::new(map))?))
    }
    scalars!();
}

impl Records<'_, '_> {
    /// A scalar `Records` is kept as the object's field.
    fn scalar(self, v: Value) -> Option<Value> {
        Some(v)
    }
}

/// Records decoded and not yet handed over, and where the next one counts from.
struct Out<'f> {
    items: Vec<Incoming>,
    next_position: usize,
    chunk: usize,
    each: &'f mut dyn FnMut(Vec<Incoming>),
}

impl<'f> Out<'f> {
    fn new(chunk: usize, each: &'f mut dyn FnMut(Vec<Incoming>)) -> Self {
        Out { items: Vec::new(), next_position: 0, chunk: chunk.max(1), each }
    }

    fn flush(&mut self) {
        if !self.items.is_empty() {
            (self.each)(std::mem::take(&mut self.items));
        }
    }

    fn push(&mut self, envelope: Envelope, bus: Option<BusMeta>, record: Result<Value, String>) {
        let position = self.next_position;
        self.next_position += 1;
        self.items.push(Incoming { position, envelope, bus, record });
        if self.items.len() >= self.chunk {
            self.flush();
        }
    }

    /// `outer` is set once the value came out of an SQS/SNS wrapper: the envelope reported is the
    /// outermost container, while EventBridge metadata is kept for the guards.
    fn expand(&mut self, value: Value, outer: Option<Envelope>, depth: usize) {
        let env = |inner: Envelope| outer.unwrap_or(inner);
        if depth > MAX_NESTING {
            return self.push(env(Envelope::Bare), None, Err(format!("containers nested deeper than {MAX_NESTING}")));
        }
        let obj = match value {
            Value::Array(items) => return items.into_iter().for_each(|v| self.expand(v, outer, depth + 1)),
            Value::Object(obj) => obj,
            other => return self.push(env(Envelope::Bare), None, Err(format!("not a JSON object: {}", kind(&other)))),
        };
        if let Some(Value::Array(_)) = obj.get("Records") {
            return self.records(obj, outer, depth);
        }
        if obj.contains_key("detail-type") || (obj.contains_key("detail") && obj.contains_key("source")) {
            return self.eventbridge(obj, env(Envelope::EventBridge));
        }
        if let Some(inner) = obj.get("CloudTrailEvent") {
            let record = embedded(inner, "CloudTrailEvent").and_then(require_object);
            return self.push(env(Envelope::LookupEvents), None, record);
        }
        if !obj.contains_key("eventName") {
            if let Some(body) = sqs_body(&obj) {
                return self.wrapped(body, depth);
            }
        }
        let record = record_or_why(obj);
        self.push(env(Envelope::Bare), None, record);
    }

    /// `{"Records": [...]}` is a CloudTrail log file, or a Lambda SQS/SNS event whose records
    /// carry bodies.
    fn records(&mut self, mut obj: Map<String, Value>, outer: Option<Envelope>, depth: usize) {
        let Some(Value::Array(records)) = obj.remove("Records") else { return };
        for rec in records {
            self.record(rec, outer, depth);
        }
    }

    /// One element of a `Records` array.
    fn record(&mut self, rec: Value, outer: Option<Envelope>, depth: usize) {
        if is_queue_record(&rec) {
            if let Some(body) = rec.as_object().and_then(sqs_body) {
                return self.wrapped(body, depth);
            }
        }
        let record = match rec {
            Value::Object(o) => record_or_why(o),
            other => Err(format!("not a JSON object: {}", kind(&other))),
        };
        self.push(outer.unwrap_or(Envelope::LogFile), None, record);
    }

    fn wrapped(&mut self, body: Result<Value, String>, depth: usize) {
        match body {
            Ok(inner) => self.expand(inner, Some(Envelope::Sqs), depth + 1),
            Err(why) => self.push(Envelope::Sqs, None, Err(why)),
        }
    }

    fn eventbridge(&mut self, mut obj: Map<String, Value>, envelope: Envelope) {
        let bus = BusMeta {
            source: text(obj.get("source")).unwrap_or_default(),
            detail_type: text(obj.get("detail-type")).unwrap_or_default(),
            id: text(obj.get("id")),
            account: text(obj.get("account")),
        };
        let record = match obj.remove("detail") {
            Some(detail @ Value::Object(_)) => Ok(detail),
            Some(other) => Err(format!("EventBridge detail is {}, not an object", kind(&other))),
            None => Err("EventBridge event without detail".to_string()),
        };
        self.push(envelope, Some(bus), record);
    }
}

/// The message an SQS message (`Body`/`body`) or SNS notification (`Message`, also inside a
/// Lambda SNS record's `Sns`) carries, parsed.
fn sqs_body(obj: &Map<String, Value>) -> Option<Result<Value, String>> {
    if let Some(sns) = obj.get("Sns").and_then(Value::as_object) {
        return sqs_body(sns);
    }
    let is_sns = obj.get("Type").and_then(Value::as_str) == Some("Notification");
    let (field, value) =
        ["Body", "body"].into_iter().chain(is_sns.then_some("Message")).find_map(|f| obj.get(f).map(|v| (f, v)))?;
    Some(embedded(value, field))
}

fn is_queue_record(rec: &Value) -> bool {
    let source = rec.get("eventSource").or_else(|| rec.get("EventSource")).and_then(Value::as_str);
    matches!(source, Some("aws:sqs" | "aws:sns"))
}

/// A record embedded as a JSON string (LookupEvents, SQS bodies, SNS messages); an already
/// parsed object is accepted too.
fn embedded(value: &Value, field: &str) -> Result<Value, String> {
    match value {
        Value::String(s) => serde_json::from_str(s).map_err(|e| format!("{field} is not JSON: {e}")),
        Value::Object(_) | Value::Array(_) => Ok(value.clone()),
        other => Err(format!("{field} is {}, not JSON text", kind(other))),
    }
}

fn require_object(value: Value) -> Result<Value, String> {
    match value {
        Value::Object(_) => Ok(value),
        other => Err(format!("not a JSON object: {}", kind(&other))),
    }
}

/// A bare object is a record when it says what happened; other objects get a reason.
fn record_or_why(obj: Map<String, Value>) -> Result<Value, String> {
    if obj.contains_key("eventName") || obj.contains_key("eventSource") {
        Ok(Value::Object(obj))
    } else if obj.contains_key("s3ObjectKey") {
        Err("a CloudTrail delivery notification (s3ObjectKey): decode the log files it names".to_string())
    } else {
        Err("not a CloudTrail record: no eventName or eventSource, and no known envelope".to_string())
    }
}

/// A string, or a number written as text (some re-shippers type account ids as numbers).
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
