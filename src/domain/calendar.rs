//! The Chinese working-day calendar: Monday–Friday, minus public holidays,
//! plus adjusted working days (调休上班), from `config/calendar/<year>.toml`.
//! Years without a file fall back to Monday–Friday with one warning each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, ensure};
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default)]
    adjusted_workdays: Vec<toml::value::Datetime>,
    #[serde(default)]
    holiday: Vec<HolidayPeriod>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayPeriod {
    name: String,
    from: toml::value::Datetime,
    to: toml::value::Datetime,
}

/// A named day off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

#[derive(Debug, Default)]
pub struct Calendar {
    holidays: BTreeMap<NaiveDate, String>,
    adjusted_workdays: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
    warned: Mutex<BTreeSet<i32>>,
}

fn toml_date(v: &toml::value::Datetime, what: &str) -> anyhow::Result<NaiveDate> {
    let d = v
        .date
        .filter(|_| v.time.is_none() && v.offset.is_none())
        .with_context(|| format!("{what}: expected a plain date such as 2026-02-15"))?;
    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        .with_context(|| format!("{what}: {v} is not a date"))
}

impl Calendar {
    /// Loads every `<year>.toml` in `dir`. A missing folder is an empty calendar.
    pub fn load_dir(dir: &Path) -> anyhow::Result<Self> {
        let mut cal = Calendar::default();
        if !dir.is_dir() {
            return Ok(cal);
        }
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path)?;
            cal.add_year_toml(&text)
                .with_context(|| format!("calendar file {}", path.display()))?;
        }
        Ok(cal)
    }

    /// Adds one year from the text of a calendar file.
    pub fn add_year_toml(&mut self, text: &str) -> anyhow::Result<()> {
        let file: YearFile = toml::from_str(text)?;
        ensure!(
            !self.years.contains(&file.year),
            "year {} is loaded twice",
            file.year
        );
        for h in &file.holiday {
            let from = toml_date(&h.from, &h.name)?;
            let to = toml_date(&h.to, &h.name)?;
            ensure!(from <= to, "holiday {}: from is after to", h.name);
            ensure!(
                from.year() == file.year && to.year() == file.year,
                "holiday {} lies outside {}",
                h.name,
                file.year
            );
            for d in from.iter_days().take_while(|d| *d <= to) {
                self.holidays.insert(d, h.name.clone());
            }
        }
        for w in &file.adjusted_workdays {
            let d = toml_date(w, "adjusted_workdays")?;
            ensure!(
                d.year() == file.year,
                "adjusted working day {d} lies outside {}",
                file.year
            );
            ensure!(
                matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
                "adjusted working day {d} is not a weekend day"
            );
            ensure!(
                !self.holidays.contains_key(&d),
                "{d} is both a holiday and a working day"
            );
            self.adjusted_workdays.insert(d);
        }
        self.years.insert(file.year);
        Ok(())
    }

    pub fn years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    pub fn holiday(&self, date: NaiveDate) -> Option<&str> {
        self.holidays.get(&date).map(String::as_str)
    }

    pub fn is_workday(&self, date: NaiveDate) -> bool {
        if !self.years.contains(&date.year()) {
            let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
            if warned.insert(date.year()) {
                tracing::warn!(
                    year = date.year(),
                    "no calendar file for this year: counting Monday to Friday as working days"
                );
            }
        }
        if self.holidays.contains_key(&date) {
            return false;
        }
        if self.adjusted_workdays.contains(&date) {
            return true;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The N-th working day strictly after `date` (N ≥ 1).
    pub fn nth_workday_after(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut d = date;
        let mut left = n.max(1);
        loop {
            d = d + Days::new(1);
            if self.is_workday(d) {
                left -= 1;
                if left == 0 {
                    return d;
                }
            }
        }
    }

    /// The N-th working day strictly before `date` (N ≥ 1).
    pub fn nth_workday_before(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut d = date;
        let mut left = n.max(1);
        loop {
            d = d - Days::new(1);
            if self.is_workday(d) {
                left -= 1;
                if left == 0 {
                    return d;
                }
            }
        }
    }

    /// The deadline "N working days after instant T": the end (23:59:59 local
    /// time) of the N-th working day strictly after T's local date, in UTC.
    pub fn deadline(&self, t: DateTime<Utc>, n: u32, tz: Tz) -> DateTime<Utc> {
        let local_date = t.with_timezone(&tz).date_naive();
        end_of_day(self.nth_workday_after(local_date, n), tz)
    }

    /// "N working days before instant T": the end of the N-th working day
    /// strictly before T's local date (a warning one working day before a
    /// deadline fires when the deadline's last working day begins).
    pub fn before(&self, t: DateTime<Utc>, n: u32, tz: Tz) -> DateTime<Utc> {
        let local_date = t.with_timezone(&tz).date_naive();
        end_of_day(self.nth_workday_before(local_date, n), tz)
    }

    /// Working days strictly after `from` up to and including `to`.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_workday(*d))
            .count() as u32
    }
}

/// 00:00 local time of `day`, in UTC (`None` if that time does not exist
/// locally).
pub fn start_of_day(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// 23:59:59 local time of `day`, in UTC.
pub fn end_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let end = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("valid time"));
    tz.from_local_datetime(&end)
        .latest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| end.and_utc())
}

/// The effective handling limit: `ceil(statutory × factor)`, never below 1.
pub fn effective_workdays(statutory: i32, factor: f64) -> i32 {
    ((f64::from(statutory) * factor).ceil() as i32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Calendar {
        Calendar::load_dir(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/calendar"
        )))
        .unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn shipped_calendars_load_2025_and_2026() {
        assert_eq!(shipped().years(), vec![2025, 2026]);
    }

    #[test]
    fn holidays_and_adjusted_days_of_2026() {
        let c = shipped();
        assert!(!c.is_workday(d(2026, 2, 16))); // Monday in the Spring Festival
        assert!(c.is_workday(d(2026, 2, 14))); // Saturday worked
        assert!(c.is_workday(d(2026, 2, 28)));
        assert!(!c.is_workday(d(2026, 10, 7)));
        assert!(c.is_workday(d(2026, 10, 10)));
        assert!(c.is_workday(d(2026, 1, 4)));
        assert!(!c.is_workday(d(2026, 1, 2)));
        assert_eq!(c.holiday(d(2026, 2, 17)), Some("春节"));
    }

    #[test]
    fn one_working_day_after_the_spring_festival_eve_is_the_saturday_before() {
        let c = shipped();
        // Friday 13 Feb 2026 → Saturday 14 Feb is an adjusted working day.
        assert_eq!(c.nth_workday_after(d(2026, 2, 13), 1), d(2026, 2, 14));
        // Saturday 14 Feb → the holiday runs to the 23rd; Tuesday 24th is next.
        assert_eq!(c.nth_workday_after(d(2026, 2, 14), 1), d(2026, 2, 24));
    }

    #[test]
    fn deadline_is_end_of_local_day_in_utc() {
        let c = shipped();
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // 2026-09-30 10:00 local: 1–7 Oct off, Thu 8 and Fri 9 work, Sat 10 works.
        let t = tz
            .with_ymd_and_hms(2026, 9, 30, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let due = c.deadline(t, 3, tz);
        assert_eq!(due.with_timezone(&tz).date_naive(), d(2026, 10, 10));
        assert_eq!(due.to_rfc3339(), "2026-10-10T15:59:59+00:00");
    }

    #[test]
    fn years_without_a_file_count_monday_to_friday() {
        let c = shipped();
        assert!(c.is_workday(d(2030, 1, 1))); // a Tuesday, no file for 2030
        assert!(!c.is_workday(d(2030, 1, 5)));
        assert_eq!(c.nth_workday_after(d(2026, 12, 31), 1), d(2027, 1, 1));
    }

    #[test]
    fn the_2025_spring_festival_and_national_day() {
        let c = shipped();
        // Sunday 26 January 2025 is worked; 28 January – 4 February off.
        assert!(c.is_workday(d(2025, 1, 26)));
        assert_eq!(c.nth_workday_after(d(2025, 1, 24), 1), d(2025, 1, 26));
        assert_eq!(c.nth_workday_after(d(2025, 1, 26), 2), d(2025, 2, 5));
        // Saturday 8 February is worked.
        assert_eq!(c.nth_workday_after(d(2025, 2, 7), 1), d(2025, 2, 8));
        // National Day and Mid-Autumn, 1–8 October; Sunday 28 September and
        // Saturday 11 October are worked.
        assert_eq!(c.nth_workday_after(d(2025, 9, 26), 1), d(2025, 9, 28));
        assert_eq!(c.nth_workday_after(d(2025, 9, 30), 1), d(2025, 10, 9));
        assert_eq!(c.nth_workday_after(d(2025, 10, 10), 1), d(2025, 10, 11));
    }

    #[test]
    fn year_ends_cross_into_the_next_calendar() {
        let c = shipped();
        // Wednesday 31 December 2025 → 1–3 January 2026 off, Sunday 4 worked.
        assert_eq!(c.nth_workday_after(d(2025, 12, 31), 1), d(2026, 1, 4));
        assert_eq!(c.nth_workday_after(d(2025, 12, 30), 1), d(2025, 12, 31));
        assert_eq!(c.workdays_between(d(2025, 12, 31), d(2026, 1, 5)), 2);
    }

    #[test]
    fn one_working_day_after_a_friday_is_monday() {
        let c = shipped();
        assert_eq!(c.nth_workday_after(d(2026, 11, 27), 1), d(2026, 11, 30));
        // N counts days strictly after T's date, whatever the hour.
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let late = tz
            .with_ymd_and_hms(2026, 11, 26, 23, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            c.deadline(late, 1, tz).with_timezone(&tz).date_naive(),
            d(2026, 11, 27)
        );
    }

    #[test]
    fn one_working_day_before_skips_holidays_backwards() {
        let c = shipped();
        let tz = chrono_tz::Asia::Shanghai;
        // Due at the end of Tuesday 24 Feb 2026, the first working day after
        // the Spring Festival: the day before is Saturday 14 Feb, worked.
        let due = end_of_day(d(2026, 2, 24), tz);
        assert_eq!(c.nth_workday_before(d(2026, 2, 24), 1), d(2026, 2, 14));
        assert_eq!(c.before(due, 1, tz), end_of_day(d(2026, 2, 14), tz));
        // An ordinary Monday: the Friday before.
        assert_eq!(c.nth_workday_before(d(2026, 11, 30), 1), d(2026, 11, 27));
        assert_eq!(c.nth_workday_before(d(2026, 11, 30), 3), d(2026, 11, 25));
    }

    #[test]
    fn effective_limit_is_halved_and_rounded_up() {
        assert_eq!(effective_workdays(30, 0.5), 15);
        assert_eq!(effective_workdays(15, 0.5), 8);
        assert_eq!(effective_workdays(1, 0.5), 1);
        assert_eq!(effective_workdays(1, 0.01), 1);
    }

    #[test]
    fn files_with_weekday_adjustments_are_refused() {
        let mut c = Calendar::default();
        let err = c.add_year_toml("year = 2026\nadjusted_workdays = [2026-02-16]\n");
        assert!(err.is_err());
    }
}
