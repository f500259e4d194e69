//! msgpack timestamps (extension type -1) as the ISO 8601 strings `JSON.stringify` prints for
//! dates: how a Node instance's `Date` reaches this one's JSON.

/// A msgpack timestamp (4, 8 or 12 bytes) as `YYYY-MM-DDTHH:MM:SS.mmmZ`; `None` for another
/// length.
pub(crate) fn iso8601(bytes: &[u8]) -> Option<String> {
    let (secs, nanos) = match bytes.len() {
        4 => (i64::from(u32::from_be_bytes(bytes.try_into().ok()?)), 0),
        8 => {
            // 30 bits of nanoseconds, then 34 bits of seconds.
            let raw = u64::from_be_bytes(bytes.try_into().ok()?);
            ((raw & 0x3_ffff_ffff) as i64, (raw >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(bytes[4..].try_into().ok()?),
            u32::from_be_bytes(bytes[..4].try_into().ok()?),
        ),
        _ => return None,
    };
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        nanos / 1_000_000
    ))
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`). Years are counted from March, so that the leap day falls last
/// and every 400-year era has the same 146 097 days.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    const DAYS_PER_ERA: i64 = 146_097;
    // 0000-03-01 is 719 468 days before the epoch.
    let since_0000_03_01 = days + 719_468;
    let era = since_0000_03_01.div_euclid(DAYS_PER_ERA);
    let day_of_era = since_0000_03_01 - era * DAYS_PER_ERA; // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // 0 = March ..= 11 = February
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    // Both are small: month in 1..=12, day in 1..=31.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_to_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        assert_eq!(civil_from_days(-719_469), (0, 2, 29)); // year 0 is a leap year
        assert_eq!(civil_from_days(47_540), (2100, 2, 28)); // 2100 is not
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        let mut previous = civil_from_days(-800_000);
        for days in -799_999..800_000 {
            let (year, month, day) = civil_from_days(days);
            let (p_year, p_month, p_day) = previous;
            let next_day = (year, month, day) == (p_year, p_month, p_day + 1);
            let next_month = (year, month, day) == (p_year, p_month + 1, 1);
            let next_year = (year, month, day) == (p_year + 1, 1, 1) && p_month == 12;
            assert!(
                next_day || next_month || next_year,
                "{previous:?} then {year}-{month}-{day}"
            );
            previous = (year, month, day);
        }
    }

    #[test]
    fn timestamps_of_each_length() {
        assert_eq!(iso8601(&[0, 0, 0, 0]).unwrap(), "1970-01-01T00:00:00.000Z");
        // 2020-09-13T12:26:40Z with 123 ms, as 8 bytes: nanoseconds << 34 | seconds.
        let raw = (123_000_000u64 << 34) | 1_600_000_000;
        assert_eq!(
            iso8601(&raw.to_be_bytes()).unwrap(),
            "2020-09-13T12:26:40.123Z"
        );
        // One second before the epoch, as 12 bytes: nanoseconds, then signed seconds.
        let mut before_epoch = 0u32.to_be_bytes().to_vec();
        before_epoch.extend_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(iso8601(&before_epoch).unwrap(), "1969-12-31T23:59:59.000Z");
        assert_eq!(iso8601(&[0; 5]), None);
    }
}
