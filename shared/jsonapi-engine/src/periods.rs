//! Date and datetime filter values, whole or partial (the model system's
//! `YYYY[-MM[-DD[Thh[:mm[:ss[.f]]][Z|±hh[:mm]]]]]`): each names a period, from its first
//! instant to the last one a stored value can hold (a day for dates, a second for datetimes).
//! `2020` is the whole year, `2020-01-01T10` that hour, a whole datetime that one second.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::values::format_datetime;

/// What a period is of: the data type of the field filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `YYYY-MM-DD`, stored per day.
    Date,
    /// `YYYY-MM-DDTHH:MM:SSZ`, stored per second.
    Datetime,
}

/// The period a filter value names, in the stored form of the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Period {
    /// The first value in it.
    pub(crate) first: String,
    /// The last value in it (the same as `first` for a whole value).
    pub(crate) last: String,
}

impl Period {
    /// Whether the value named a single stored value (a whole date or datetime).
    pub(crate) fn is_instant(&self) -> bool {
        self.first == self.last
    }

    /// Reads a filter value; `None` when it is not a date (datetime) of the model's forms.
    pub(crate) fn parse(kind: Kind, text: &str) -> Option<Self> {
        // A `+` sent unencoded in a query string arrives as a space (the model system reads it
        // back the same way).
        let text = text.replace(' ', "+");
        let (date, time) = match text.split_once('T') {
            Some((date, time)) if kind == Kind::Datetime => (date, Some(time)),
            Some(_) => return None,
            None => (text.as_str(), None),
        };
        let (start, next) = partial_date(date)?;
        let Some(time) = time else {
            let start = start.midnight().assume_utc();
            let end = next.midnight().assume_utc();
            return Some(Self::between(kind, start, end));
        };
        // A time follows a whole date only.
        if date.len() != 10 {
            return None;
        }
        let (clock, offset) = split_offset(time)?;
        let parts: Vec<&str> = clock.split(':').collect();
        let (hour, minute, second, unit) = match parts.as_slice() {
            [h] => (two_digits(h)?, 0, 0, Duration::HOUR),
            [h, m] => (two_digits(h)?, two_digits(m)?, 0, Duration::MINUTE),
            [h, m, s] => {
                // Stored datetimes keep whole seconds: a fraction names its second.
                let (s, fraction) = s.split_once('.').unwrap_or((s, "0"));
                if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (
                    two_digits(h)?,
                    two_digits(m)?,
                    two_digits(s)?,
                    Duration::SECOND,
                )
            }
            _ => return None,
        };
        let at = Time::from_hms(hour, minute, second).ok()?;
        let start = PrimitiveDateTime::new(start, at).assume_offset(offset);
        Some(Self::between(kind, start, start + unit))
    }

    fn between(kind: Kind, start: OffsetDateTime, end: OffsetDateTime) -> Self {
        let render = |t: OffsetDateTime| match kind {
            Kind::Date => t.date().to_string(),
            Kind::Datetime => format_datetime(t),
        };
        let step = match kind {
            Kind::Date => Duration::DAY,
            Kind::Datetime => Duration::SECOND,
        };
        Self {
            first: render(start),
            last: render(end - step),
        }
    }
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`: the first day and the first day after.
fn partial_date(text: &str) -> Option<(Date, Date)> {
    let parts: Vec<&str> = text.split('-').collect();
    let year = parts
        .first()
        .filter(|y| y.len() == 4)?
        .parse::<i32>()
        .ok()?;
    let digits = |i: usize| parts.get(i).map(|p| two_digits(p));
    match parts.len() {
        1 => Some((
            Date::from_calendar_date(year, Month::January, 1).ok()?,
            Date::from_calendar_date(year + 1, Month::January, 1).ok()?,
        )),
        2 => {
            let month = Month::try_from(digits(1)??).ok()?;
            let start = Date::from_calendar_date(year, month, 1).ok()?;
            let next = if month == Month::December {
                Date::from_calendar_date(year + 1, Month::January, 1)
            } else {
                Date::from_calendar_date(year, month.next(), 1)
            };
            Some((start, next.ok()?))
        }
        3 => {
            let month = Month::try_from(digits(1)??).ok()?;
            let day = Date::from_calendar_date(year, month, digits(2)??).ok()?;
            Some((day, day.next_day()?))
        }
        _ => None,
    }
}

/// Exactly two ASCII digits.
fn two_digits(text: &str) -> Option<u8> {
    (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// `hh[:mm]` and its offset (`Z`, `±hh`, `±hh:mm`, `±hhmm`; none = UTC).
fn split_offset(time: &str) -> Option<(&str, UtcOffset)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, UtcOffset::UTC));
    }
    let Some(at) = time.find(['+', '-']) else {
        return Some((time, UtcOffset::UTC));
    };
    let (clock, offset) = time.split_at(at);
    let sign: i8 = if offset.starts_with('-') { -1 } else { 1 };
    let digits = offset[1..].replace(':', "");
    let (h, m) = match digits.len() {
        2 => (two_digits(&digits)?, 0),
        4 => (two_digits(&digits[..2])?, two_digits(&digits[2..])?),
        _ => return None,
    };
    let offset = UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).ok()?;
    Some((clock, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(kind: Kind, text: &str) -> (String, String) {
        let p = Period::parse(kind, text).unwrap_or_else(|| panic!("{text} names a period"));
        (p.first, p.last)
    }

    fn pair(first: &str, last: &str) -> (String, String) {
        (first.to_owned(), last.to_owned())
    }

    #[test]
    fn partial_datetimes_name_their_whole_period() {
        let dt = Kind::Datetime;
        assert_eq!(
            period(dt, "2020"),
            pair("2020-01-01T00:00:00Z", "2020-12-31T23:59:59Z")
        );
        assert_eq!(
            period(dt, "2020-02"),
            pair("2020-02-01T00:00:00Z", "2020-02-29T23:59:59Z")
        );
        assert_eq!(
            period(dt, "2020-12"),
            pair("2020-12-01T00:00:00Z", "2020-12-31T23:59:59Z")
        );
        assert_eq!(
            period(dt, "2020-01-31"),
            pair("2020-01-31T00:00:00Z", "2020-01-31T23:59:59Z")
        );
        assert_eq!(
            period(dt, "2020-01-01T10"),
            pair("2020-01-01T10:00:00Z", "2020-01-01T10:59:59Z")
        );
        assert_eq!(
            period(dt, "2020-01-01T10:30"),
            pair("2020-01-01T10:30:00Z", "2020-01-01T10:30:59Z")
        );
        assert_eq!(
            period(dt, "2020-01-01T10:30+02:00"),
            pair("2020-01-01T08:30:00Z", "2020-01-01T08:30:59Z")
        );
        // A `+` that arrived as a space.
        assert_eq!(
            period(dt, "2020-01-01T10 0130"),
            pair("2020-01-01T08:30:00Z", "2020-01-01T09:29:59Z")
        );
        assert_eq!(
            period(dt, "2020-01-01T10:30:15-01:00"),
            pair("2020-01-01T11:30:15Z", "2020-01-01T11:30:15Z")
        );
        assert_eq!(
            period(dt, "2020-01-01T10:30:15.75+0100"),
            pair("2020-01-01T09:30:15Z", "2020-01-01T09:30:15Z")
        );
        assert!(
            Period::parse(dt, "2020-01-01T10:30:15Z")
                .unwrap()
                .is_instant()
        );
        assert!(!Period::parse(dt, "2020-01-01").unwrap().is_instant());
    }

    #[test]
    fn partial_dates_name_their_days() {
        assert_eq!(period(Kind::Date, "2021"), pair("2021-01-01", "2021-12-31"));
        assert_eq!(
            period(Kind::Date, "2021-02"),
            pair("2021-02-01", "2021-02-28")
        );
        assert!(
            Period::parse(Kind::Date, "2021-02-03")
                .unwrap()
                .is_instant()
        );
        assert!(Period::parse(Kind::Date, "2021-02-03T10").is_none());
    }

    #[test]
    fn other_text_names_no_period() {
        for bad in [
            "",
            "20",
            "20200",
            "2020-1",
            "2020-13",
            "2020-02-30",
            "2020-01-01T",
            "2020-01-01T1",
            "2020-01-01T25",
            "2020-01-01T10:6",
            "2020-01T10",
            "2020-01-01T10+2",
            "2020-01-01T10:30:15.",
            "yesterday",
            "2020/01/01",
        ] {
            assert!(Period::parse(Kind::Datetime, bad).is_none(), "{bad}");
        }
    }
}
