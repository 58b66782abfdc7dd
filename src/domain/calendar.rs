//! The Chinese working-day calendar: Monday–Friday, minus public holidays,
//! plus adjusted working days (调休上班), from `config/calendar/<year>.toml`.
//!
//! A year without a file is *provisional*: Monday–Friday minus the statutory
//! holidays of 《全国年节及纪念日放假办法》 (2024 revision), with the lunar
//! dates computed, and no adjusted working days (those only the State
//! Council's notice can give). Every deadline counted over such a year says
//! so ([`Due::provisional`]), and readiness and a metric name the year until
//! its notice is added (docs/architecture.md, "Deadlines").

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
    /// Statutory holidays of years without a file, worked out when first
    /// needed.
    provisional: Mutex<BTreeMap<i32, BTreeMap<NaiveDate, &'static str>>>,
}

/// A deadline, and whether it was counted over a provisional year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    pub at: DateTime<Utc>,
    pub provisional: bool,
}

/// The statutory public holidays of `year` under 《全国年节及纪念日放假办法》
/// as revised in 2024: New Year's Day (1 day), the Spring Festival (New
/// Year's Eve to the third day, 4 days), Qingming (1), Labour Day (1–2 May),
/// the Dragon Boat Festival (1), Mid-Autumn (1) and National Day (1–3 Oct).
/// Lunar dates come from `chinese-lunisolar-calendar` (1901–2100); Qingming,
/// a solar term, from the standard day formula valid for 2001–2099. Outside
/// those ranges only the fixed-date holidays are known.
pub fn statutory_holidays(year: i32) -> BTreeMap<NaiveDate, &'static str> {
    let mut out = BTreeMap::new();
    let mut add = |d: Option<NaiveDate>, days: u64, name: &'static str| {
        if let Some(d) = d {
            for i in 0..days {
                out.insert(d + Days::new(i), name);
            }
        }
    };
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    add(ymd(1, 1), 1, "元旦");
    add(ymd(5, 1), 2, "劳动节");
    add(ymd(10, 1), 3, "国庆节");
    let lunar = |m: u8, d: u8| -> Option<NaiveDate> {
        let y = u16::try_from(year).ok()?;
        chinese_lunisolar_calendar::LunisolarDate::from_ymd(y, m, false, d)
            .ok()
            .map(|l| l.to_naive_date())
    };
    // New Year's Eve is the day before the first day of the first month
    // (the 29th or 30th of the twelfth).
    add(lunar(1, 1).map(|d| d - Days::new(1)), 4, "春节");
    add(lunar(5, 5), 1, "端午节");
    add(lunar(8, 15), 1, "中秋节");
    if (2001..=2099).contains(&year) {
        // 清明 = floor(Y × 0.2422 + 4.81) − floor(Y / 4), Y = year mod 100.
        let y = f64::from(year % 100);
        let day = (y * 0.2422 + 4.81).floor() as u32 - (year % 100) as u32 / 4;
        add(ymd(4, day), 1, "清明节");
    }
    out
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

    /// Whether `year` has no calendar file and is counted provisionally.
    pub fn is_provisional(&self, year: i32) -> bool {
        !self.years.contains(&year)
    }

    /// The years among `years` that are provisional (for readiness, the
    /// metric and the start-up log).
    pub fn provisional_among(&self, years: impl IntoIterator<Item = i32>) -> Vec<i32> {
        years
            .into_iter()
            .filter(|y| self.is_provisional(*y))
            .collect()
    }

    /// The holiday's name, from the year's file or, in a provisional year,
    /// from the statutory list.
    pub fn holiday(&self, date: NaiveDate) -> Option<String> {
        if self.is_provisional(date.year()) {
            return self.provisional_holiday(date).map(str::to_owned);
        }
        self.holidays.get(&date).cloned()
    }

    fn provisional_holiday(&self, date: NaiveDate) -> Option<&'static str> {
        let mut cache = self.provisional.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(date.year())
            .or_insert_with(|| statutory_holidays(date.year()))
            .get(&date)
            .copied()
    }

    pub fn is_workday(&self, date: NaiveDate) -> bool {
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if self.is_provisional(date.year()) {
            return !weekend && self.provisional_holiday(date).is_none();
        }
        if self.holidays.contains_key(&date) {
            return false;
        }
        if self.adjusted_workdays.contains(&date) {
            return true;
        }
        !weekend
    }

    /// The N-th working day strictly after `date` (N ≥ 1).
    pub fn nth_workday_after(&self, date: NaiveDate, n: u32) -> NaiveDate {
        self.nth_after_checked(date, n).0
    }

    /// The N-th working day after `date`, and whether any day counted lies
    /// in a provisional year.
    fn nth_after_checked(&self, date: NaiveDate, n: u32) -> (NaiveDate, bool) {
        let mut d = date;
        let mut left = n.max(1);
        let mut provisional = false;
        loop {
            d = d + Days::new(1);
            provisional |= self.is_provisional(d.year());
            if self.is_workday(d) {
                left -= 1;
                if left == 0 {
                    return (d, provisional);
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
        self.due(t, n, tz).at
    }

    /// [`deadline`](Self::deadline), saying whether it was counted over a
    /// provisional year.
    pub fn due(&self, t: DateTime<Utc>, n: u32, tz: Tz) -> Due {
        let local_date = t.with_timezone(&tz).date_naive();
        let (day, provisional) = self.nth_after_checked(local_date, n);
        Due {
            at: end_of_day(day, tz),
            provisional,
        }
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

/// A bound given as an RFC 3339 time or a local date — the start of that day,
/// or for an `end` (a date included) the start of the next — in UTC; `None`
/// when the text is neither.
pub fn instant_of(text: &str, tz: Tz, end: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    start_of_day(if end { d.succ_opt().unwrap_or(d) } else { d }, tz)
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
        assert_eq!(c.holiday(d(2026, 2, 17)).as_deref(), Some("春节"));
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
    fn years_without_a_file_keep_the_statutory_holidays() {
        let c = shipped();
        assert!(c.is_provisional(2027) && !c.is_provisional(2026));
        // 1 January 2027 (a Friday) is New Year's Day even without a notice.
        assert!(!c.is_workday(d(2027, 1, 1)));
        assert_eq!(c.nth_workday_after(d(2026, 12, 31), 1), d(2027, 1, 4));
        // Spring Festival 2027: New Year's Eve is Friday 5 February.
        for day in 5..=8 {
            assert!(!c.is_workday(d(2027, 2, day)), "{day} February 2027");
        }
        assert!(c.is_workday(d(2027, 2, 9)));
        assert!(!c.is_workday(d(2030, 1, 5))); // a Saturday
        assert_eq!(c.holiday(d(2027, 2, 6)).as_deref(), Some("春节"));
    }

    #[test]
    fn ten_working_days_from_23_december_2026_skip_new_years_day() {
        let c = shipped();
        let tz = chrono_tz::Asia::Shanghai;
        let t = tz
            .with_ymd_and_hms(2026, 12, 23, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let due = c.due(t, 10, tz);
        assert_eq!(due.at.with_timezone(&tz).date_naive(), d(2027, 1, 7));
        assert!(
            due.provisional,
            "counted over 2027, which has no notice yet"
        );
        assert!(!c.due(t, 3, tz).provisional, "stays in 2026");
    }

    #[test]
    fn the_provisional_holidays_of_2025_and_2026_are_official_ones() {
        // The statutory list must fall inside the State Council's notices
        // for the years we have them: a check of the lunar arithmetic.
        let c = shipped();
        for year in [2025, 2026] {
            let list = statutory_holidays(year);
            assert_eq!(list.len(), 13, "{year}: 13 statutory days");
            for (day, name) in list {
                assert!(
                    c.holidays.contains_key(&day),
                    "{day} ({name}) is not a holiday in config/calendar/{year}.toml"
                );
            }
        }
    }

    #[test]
    fn qingming_and_the_lunar_festivals_of_some_years() {
        let has = |y: i32, m: u32, day: u32, name: &str| {
            statutory_holidays(y).get(&d(y, m, day)) == Some(&name)
        };
        assert!(has(2024, 4, 4, "清明节"));
        assert!(has(2027, 4, 5, "清明节"));
        assert!(has(2028, 4, 4, "清明节"));
        assert!(has(2027, 6, 9, "端午节"));
        assert!(has(2027, 9, 15, "中秋节"));
        assert!(has(2028, 1, 25, "春节")); // New Year's Eve of 2028
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
