//! CloudTrail input for qrie, the pure core of the event path (DESIGN.md §5).
//!
//! [`decode`] turns bytes in any delivery shape (log file, EventBridge event, bare record,
//! JSON array or lines, LookupEvents item, SQS/SNS wrapper, gzip of any of these) into
//! [`Incoming`] records; [`route`] guards each one (forged source, wrong detail-type,
//! failed, read-only) and names the resources it changed. No I/O and no AWS SDK: the
//! engine re-reads the named resources through its collectors.

mod decode;
mod ec2;
mod iam;
mod names;
mod record;
mod route;
mod s3;
mod time;
mod types;

pub use decode::{decode, decode_chunks, DecodeError, CHUNK, MAX_INPUT_BYTES};
pub use names::{api_operation, mapped_event_names, ApiOperation};
pub use route::route;
pub use time::parse_time;
pub use types::{Action, BusMeta, Decision, Envelope, Incoming, Routed, SkipReason, Target};
