//! Timestamps: UTC milliseconds since the Unix epoch, shown as RFC 3339 (`2017-03-20T17:05:32.000Z`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn from_secs(secs: u64) -> Self {
        Self(secs as i64 * 1000)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self(since)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (or `+00:00`), as SEP query parameters carry it.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut rest = &s[19..];
        let mut millis = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
            millis = padded.parse::<i64>().ok()?;
            rest = &fraction[digits..];
        }
        let offset_minutes = match rest {
            "Z" | "z" | "+00:00" | "-00:00" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                    return None;
                }
                sign * (rest[1..3].parse::<i64>().ok()? * 60 + rest[4..6].parse::<i64>().ok()?)
            }
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
        Some(Self(secs * 1000 + millis))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl Timestamp {
    /// Year, month, day, hour, minute, second and millisecond (UTC).
    pub(crate) fn parts(&self) -> [i64; 7] {
        let secs = self.0.div_euclid(1000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        let millis = self.0.rem_euclid(1000);
        [
            year,
            month,
            day,
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            millis,
        ]
    }

    /// The RFC 3339 form, `2024-01-31T12:00:00.000Z`, written into `out` without the formatting
    /// machinery (a transaction listing serializes several per row); `None` outside years
    /// 0000-9999, which [`Timestamp::write_formatted`] writes.
    fn rfc3339_in<'a>(&self, out: &'a mut [u8; 24]) -> Option<&'a str> {
        let parts = self.parts();
        if !(0..=9999).contains(&parts[0]) {
            return None;
        }
        *out = *b"0000-00-00T00:00:00.000Z";
        // Where each part's digits end in `out`, and how many there are.
        const DIGITS: [(usize, usize); 7] =
            [(4, 4), (7, 2), (10, 2), (13, 2), (16, 2), (19, 2), (23, 3)];
        for (mut value, (end, width)) in parts.into_iter().zip(DIGITS) {
            for digit in out[end - width..end].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        std::str::from_utf8(out).ok()
    }

    /// The same form through the formatting machinery, for any year.
    fn write_formatted(&self, f: &mut impl fmt::Write) -> fmt::Result {
        let [year, month, day, hour, minute, second, millis] = self.parts();
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z"
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339_in(&mut [0; 24]) {
            Some(text) => f.write_str(text),
            None => self.write_formatted(f),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339_in(&mut [0; 24]) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom("not an RFC 3339 UTC time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rfc3339() {
        let t = Timestamp::from_secs(1_490_029_532);
        assert_eq!(t.to_string(), "2017-03-20T17:05:32.000Z");
        assert_eq!(Timestamp::parse_rfc3339("2017-03-20T17:05:32Z"), Some(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2017-03-20T19:05:32.000+02:00"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2017-03-20T17:05:32.5Z").map(|t| t.millis() % 1000),
            Some(500)
        );
        assert_eq!(
            Timestamp::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2000-02-29T00:00:00Z").map(|t| t.to_string()),
            Some("2000-02-29T00:00:00.000Z".into())
        );
        for bad in [
            "",
            "2017-03-20",
            "2017-13-20T17:05:32Z",
            "2017-03-20T17:05:32",
            "2017-03-20T17:05:32+0200",
            "yesterday",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_fast_form_is_the_formatted_one_and_serde_writes_it() {
        let formatted = |t: Timestamp| {
            let mut text = String::new();
            t.write_formatted(&mut text).expect("formats");
            text
        };
        let edges = [
            i64::MIN,
            -62_167_219_200_001, // 0000-01-01 less a millisecond: year -1
            -62_167_219_200_000, // 0000-01-01T00:00:00.000Z
            0,
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            253_402_300_800_000, // year 10000
            i64::MAX,
        ];
        let spread = (-70_000i64..330_000).step_by(7).map(|d| d * 86_399_997 + d);
        for t in edges.into_iter().chain(spread).map(Timestamp::from_millis) {
            assert_eq!(t.to_string(), formatted(t));
            assert_eq!(
                serde_json::to_string(&t).expect("serializes"),
                format!("\"{}\"", formatted(t))
            );
        }
        assert_eq!(
            Timestamp::from_millis(-62_167_219_200_000).to_string(),
            "0000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(253_402_300_800_000).to_string(),
            "10000-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn round_trips_many_days() {
        for day in (-800_000i64..800_000).step_by(997) {
            let t = Timestamp::from_millis(day * 86_400_000 + 12_345_678);
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t));
        }
    }
}
