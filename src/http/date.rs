//! The `Date` header value, formatted once per second per connection.
//!
//! A per-connection cache needs no lock and no thread-local (coroutines move
//! between threads). The seconds come from the watchdog's coarse clock, so a
//! batch reads no clock; the cache reformats only when the second changes.

/// "Sun, 06 Nov 1994 08:49:37 GMT".len()
pub(crate) const DATE_BYTES: usize = 29;

const SECONDS_PER_DAY: u64 = 86_400;

const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

pub(crate) struct DateCache {
    unix_seconds: u64,
    bytes: [u8; DATE_BYTES],
}

impl DateCache {
    pub(crate) fn new(unix_seconds: u64) -> DateCache {
        let mut cache = DateCache {
            unix_seconds,
            bytes: [0; DATE_BYTES],
        };
        format_imf_fixdate(unix_seconds, &mut cache.bytes);
        cache
    }

    /// Reformats only when the second changed.
    pub(crate) fn refresh(&mut self, unix_seconds: u64) {
        if unix_seconds != self.unix_seconds {
            self.unix_seconds = unix_seconds;
            format_imf_fixdate(unix_seconds, &mut self.bytes);
        }
    }

    pub(crate) fn bytes(&self) -> &[u8; DATE_BYTES] {
        &self.bytes
    }
}

/// RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
fn format_imf_fixdate(unix_seconds: u64, out: &mut [u8; DATE_BYTES]) {
    let days = unix_seconds / SECONDS_PER_DAY;
    let second_of_day = unix_seconds % SECONDS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 4) % 7) as usize;
    assert!((1..=12).contains(&month));
    assert!(year <= 9999, "a 4-digit year fits the fixed-width date");

    out[0..3].copy_from_slice(WEEKDAYS[weekday]);
    out[3..5].copy_from_slice(b", ");
    write_two_digits(&mut out[5..7], day);
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    out[11] = b' ';
    write_two_digits(&mut out[12..14], year / 100);
    write_two_digits(&mut out[14..16], year % 100);
    out[16] = b' ';
    write_two_digits(&mut out[17..19], second_of_day / 3600);
    out[19] = b':';
    write_two_digits(&mut out[20..22], second_of_day / 60 % 60);
    out[22] = b':';
    write_two_digits(&mut out[23..25], second_of_day % 60);
    out[25..29].copy_from_slice(b" GMT");
}

fn write_two_digits(out: &mut [u8], value: u64) {
    assert!(value < 100);
    out[0] = b'0' + (value / 10) as u8;
    out[1] = b'0' + (value % 10) as u8;
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), after Howard
/// Hinnant's `civil_from_days`, for non-negative days only.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(unix_seconds: u64) -> String {
        let mut out = [0; DATE_BYTES];
        format_imf_fixdate(unix_seconds, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn the_epoch_and_known_dates_format_as_imf_fixdate() {
        assert_eq!(formatted(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(formatted(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(formatted(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(formatted(1_798_761_599), "Thu, 31 Dec 2026 23:59:59 GMT");
    }
}
