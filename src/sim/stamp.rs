//! Wall-clock times and ids as the hosted dialects (Heroku, Netlify) write them. Operations run
//! on the monotonic clock; a dialect pins one wall time to one instant the first time it is used
//! and converts from there, so its times are consistent within a run.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// One instant and the wall time it stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wall {
    at: Instant,
    wall: SystemTime,
}

impl Wall {
    pub(crate) fn now() -> Self {
        Self {
            at: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The wall time of `instant` (earlier instants too).
    pub(crate) fn of(&self, instant: Instant) -> SystemTime {
        if instant >= self.at {
            self.wall + (instant - self.at)
        } else {
            self.wall - (self.at - instant)
        }
    }

    /// RFC 3339 in whole seconds (`2012-01-01T12:00:00Z`), as Heroku writes times.
    pub(crate) fn seconds(&self, instant: Instant) -> String {
        super::argocd::rfc3339(self.of(instant))
    }

    /// RFC 3339 with milliseconds (`2018-07-17T17:14:03.423Z`), as Netlify writes times.
    pub(crate) fn millis(&self, instant: Instant) -> String {
        let t = self.of(instant);
        let ms = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis());
        let whole = super::argocd::rfc3339(t);
        format!("{}.{ms:03}Z", whole.trim_end_matches('Z'))
    }

    /// Seconds since the Unix epoch of `instant` plus `later`, rounded up (a rate-limit reset).
    pub(crate) fn epoch_after(&self, instant: Instant, later: Duration) -> u64 {
        let t = self.of(instant) + later;
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }
}

/// A random version 4 UUID, lowercase (`01234567-89ab-4cde-8f01-23456789abcd`).
pub(crate) fn uuid() -> String {
    uuid_of(rand::random::<u128>())
}

/// A version 4-shaped UUID derived from `name` (the same name, the same id), for resources the
/// script names (apps, sites) whose ids must be stable within a run.
pub(crate) fn uuid_for(name: &str) -> String {
    uuid_of(fnv128(name.as_bytes()))
}

/// A 24-hex-digit id, as Netlify's deploy and build ids are (MongoDB object ids).
pub(crate) fn object_id() -> String {
    format!("{:024x}", rand::random::<u128>() >> 32)
}

/// `len` random lowercase hex digits.
pub(crate) fn hex(len: usize) -> String {
    let digits = format!("{:032x}", rand::random::<u128>());
    digits[..len.min(32)].to_owned()
}

fn uuid_of(bits: u128) -> String {
    // Version 4, variant 10xx.
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// FNV-1a, 128 bits: a stable spread of a name over an id.
fn fnv128(bytes: &[u8]) -> u128 {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in bytes {
        hash ^= u128::from(*b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_platform_shapes() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(uuid_for("demo-app"), uuid_for("demo-app"));
        assert_ne!(uuid_for("demo-app"), uuid_for("demo-apq"));
        let object = object_id();
        assert_eq!(object.len(), 24);
        assert!(object.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hex(12).len(), 12);
    }

    #[test]
    fn times_are_rfc3339() {
        let wall = Wall::now();
        let s = wall.seconds(wall.at);
        assert_eq!(s.len(), 20, "{s}");
        let ms = wall.millis(wall.at + Duration::from_millis(1500));
        assert_eq!(ms.len(), 24, "{ms}");
        assert!(ms.ends_with('Z'));
        assert!(wall.epoch_after(wall.at, Duration::from_secs(2)) > 1_600_000_000);
    }
}
