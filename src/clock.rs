//! Wall-clock time in the forms the API uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn unix_now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// `2026-12-03T11:49:05Z` for a Unix time in seconds.
pub fn rfc3339(unix_s: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix_s)).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_times_format_as_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_796_298_545), "2026-12-03T11:49:05Z");
    }
}
