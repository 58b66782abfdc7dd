//! The words people read for the codes the API keeps: statuses, channels,
//! satisfaction, clocks and rungs, and local times. Everything a person
//! reads (timelines, letters, notices, CSV) is Chinese with local times; the
//! codes stay in the JSON fields beside these words.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::domain::status::Status;

pub fn status_label(status: &str) -> &'static str {
    Status::parse(status).map_or("处理中", Status::label)
}

pub fn channel_label(channel: &str) -> &'static str {
    match channel {
        "web" => "网站",
        "hotline" => "热线电话",
        "letter" => "来信",
        "visit" => "来访",
        "email" => "电子邮件",
        "open311" => "Open311接口",
        _ => "其他渠道",
    }
}

pub fn satisfaction_label(s: &str) -> &'static str {
    match s {
        "satisfied" => "满意",
        "basically_satisfied" => "基本满意",
        "unsatisfied" => "不满意",
        _ => "",
    }
}

/// What came of a hotline call.
pub fn disposition_label(d: &str) -> &'static str {
    match d {
        "answered" => "当场解答",
        "consultation" => "政策咨询",
        "complaint" => "受理投诉",
        "invalid" => "无效来电",
        "status_inquiry" => "查询进度",
        "follow_up" => "催办",
        "supplement" => "补充情况",
        "callback" => "回访",
        "transferred" => "转办其他热线",
        _ => "其他",
    }
}

/// How an assignment came about.
pub fn how_label(how: &str) -> &'static str {
    match how {
        "auto" => "按规则自动转办",
        "manual" => "督办员转办",
        "rerouted" => "改派",
        "reopen" => "重新交办",
        _ => "转办",
    }
}

/// The clock a deadline belongs to.
pub fn clock_label(clock: &str) -> &'static str {
    match clock {
        "acknowledge" => "签收",
        _ => "办理",
    }
}

pub fn role_label(role: &str) -> &'static str {
    match role {
        "supervisor" => "督办员",
        "operator" => "话务员",
        "unit" => "承办单位",
        "auditor" => "审计人员",
        "admin" => "系统管理员",
        "public" => "群众",
        _ => "系统",
    }
}

/// A local date as letters and timelines write it: 2026年11月27日.
pub fn local_date(t: DateTime<Utc>, tz: Tz) -> String {
    let d = t.with_timezone(&tz);
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// A local date and minute: 2026年11月27日 09:30.
pub fn local_minute(t: DateTime<Utc>, tz: Tz) -> String {
    format!(
        "{} {}",
        local_date(t, tz),
        t.with_timezone(&tz).format("%H:%M")
    )
}

/// Points as people write them: 2, 1.5, 0.25.
pub fn points_text(centipoints: i64) -> String {
    let whole = centipoints.abs() / 100;
    let frac = centipoints.abs() % 100;
    let sign = if centipoints < 0 { "-" } else { "" };
    match frac {
        0 => format!("{sign}{whole}"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
        f => format!("{sign}{whole}.{f:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn local_times_are_written_in_the_county_zone() {
        let t = Utc.with_ymd_and_hms(2026, 12, 16, 15, 59, 59).unwrap();
        let tz = chrono_tz::Asia::Shanghai;
        assert_eq!(local_date(t, tz), "2026年12月16日");
        assert_eq!(local_minute(t, tz), "2026年12月16日 23:59");
    }

    #[test]
    fn points_lose_their_trailing_zeros() {
        assert_eq!(points_text(200), "2");
        assert_eq!(points_text(150), "1.5");
        assert_eq!(points_text(25), "0.25");
        assert_eq!(points_text(-100), "-1");
    }
}
