//! Errors on the public pages: field errors beside their inputs, in the
//! page's Chinese words, and the errors that get a page of their own.

use std::collections::HashMap;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use minijinja::context;
use serde::Serialize;

use crate::error::{AppError, Code, FieldError};

use super::render::render;

/// One line of the error summary: the input it links to, its label and the
/// message.
#[derive(Serialize)]
pub(super) struct SummaryItem {
    pub(super) id: Option<String>,
    pub(super) label: String,
    pub(super) message: String,
}

/// Field errors as the page shows them: a message per input id, and the
/// summary in page order (errors on no input last).
#[derive(Default)]
pub(super) struct PageErrors {
    pub(super) by_input: HashMap<String, String>,
    pub(super) summary: Vec<SummaryItem>,
}

impl PageErrors {
    pub(super) fn from_fields(errors: &[FieldError], inputs: &[(&str, &str, &str)]) -> Self {
        let mut out = PageErrors::default();
        let mut unplaced = Vec::new();
        for e in errors {
            // `complainant` itself (missing or refused) belongs to the name.
            let path = if e.field == "complainant" {
                "complainant.name"
            } else {
                e.field.as_str()
            };
            match inputs.iter().find(|(_, _, p)| *p == path) {
                Some((id, _, _)) => {
                    out.by_input
                        .entry((*id).to_owned())
                        .or_insert_with(|| message_zh(id, &e.code));
                }
                None => unplaced.push(e),
            }
        }
        for (id, label, _) in inputs {
            if let Some(message) = out.by_input.get(*id) {
                out.summary.push(SummaryItem {
                    id: Some((*id).to_owned()),
                    label: (*label).to_owned(),
                    message: message.clone(),
                });
            }
        }
        for e in unplaced {
            let message = message_zh(&e.field, &e.code);
            out.summary.push(SummaryItem {
                id: None,
                label: String::new(),
                message,
            });
        }
        out
    }

    pub(super) fn add(&mut self, id: &str, label: &str, message: &str) {
        self.by_input.insert(id.to_owned(), message.to_owned());
        self.summary.push(SummaryItem {
            id: Some(id.to_owned()),
            label: label.to_owned(),
            message: message.to_owned(),
        });
    }
}

/// A field error in the words of the page: from its code, with the words
/// an input of the complaint form needs.
fn message_zh(input: &str, code: &Code) -> String {
    match (code, input) {
        (Code::Required, "category" | "subject_unit" | "satisfaction") => "请选择".into(),
        (Code::OneOf { .. } | Code::NotACategory, "category") => "请从列表中选择问题类别".into(),
        (Code::OneOf { .. } | Code::NotAUnit, "subject_unit") => "请从列表中选择被投诉单位".into(),
        (Code::OneOf { .. }, "satisfaction") => "请选择满意、基本满意或不满意".into(),
        (Code::InFuture, "occurred_on") => "发生日期不能晚于今天".into(),
        (Code::TooEarly, "occurred_on") => "发生日期不能早于 1990 年".into(),
        (Code::NotAllowed, "name") => "匿名投诉不保存身份信息，请清空身份信息或取消匿名".into(),
        _ => code_zh(code),
    }
}

/// Every code in Chinese (each code must have its words: the match is
/// exhaustive).
fn code_zh(code: &Code) -> String {
    match code {
        Code::Required => "请填写此项".into(),
        Code::UnknownField => "表单中有无法识别的内容，请刷新页面后重新填写".into(),
        Code::WrongType { .. } | Code::BadFormat => "格式不正确，请检查后重新填写".into(),
        Code::TooShort { min } => format!("至少需要 {min} 个字"),
        Code::TooLong { max } => format!("不能超过 {max} 个字"),
        Code::ControlCharacters => "含有无法识别的控制字符，请删除后重试".into(),
        Code::OutOfRange { min, max } => format!("请填写 {min} 到 {max} 之间的整数"),
        Code::OneOf { .. } => "请从列表中选择".into(),
        Code::BadPhone => {
            "请填写有效的电话号码：以 1 开头的 11 位手机号，或带区号的固定电话（如 0797-5321234）"
                .into()
        }
        Code::BadEmail => "请填写有效的电子邮箱，例如 name@example.cn".into(),
        Code::BadIdNumber => "请填写有效的 18 位居民身份证号码（最后一位可以是 X）".into(),
        Code::BadDate => "请按“年-月-日”填写日期，例如 2026-11-27".into(),
        Code::BadTime => "请填写有效的时间，例如 2026-11-27 09:30".into(),
        Code::InFuture => "不能晚于当前时间".into(),
        Code::TooEarly => "时间过早，请检查".into(),
        Code::NotAUnit => "请从列表中选择单位".into(),
        Code::NotACategory => "请从列表中选择问题类别".into(),
        Code::NotACase => "没有这个受理编号的投诉".into(),
        Code::NotASituation => "请从问责情形目录中选择".into(),
        Code::NotAllowed => "此项在当前选择下不应填写".into(),
        Code::Taken => "已被使用，请换一个".into(),
        Code::TooMany { max } => format!("最多 {max} 项"),
        Code::BadOrder => "结束时间应晚于开始时间".into(),
        Code::BadDeduction => "请填写 0 到 -100 之间、最多两位小数的扣分".into(),
        Code::LeaderConflict => "投诉涉及该单位负责人，请交上级单位或作风办办理".into(),
        Code::NeedsConfirmation => "请核实后勾选确认".into(),
        Code::LastAdmin => "至少要保留一个启用的管理员账号".into(),
        Code::KeyReused => "这份表单已经提交过。如需再投诉一件事，请重新打开投诉页面填写。".into(),
    }
}

/// An error the page cannot place on a field, as a page of its own.
pub(super) fn error_page(e: &AppError) -> HttpResponse {
    let status = e.status_code();
    let (heading, message) = match e {
        AppError::Internal(cause) => {
            tracing::error!(error.cause_chain = ?cause, "internal error on a public page");
            ("系统错误", "系统出现错误，请稍后再试。".to_owned())
        }
        AppError::Unavailable(cause) => {
            tracing::warn!(error.cause = %cause, "dependency unavailable on a public page");
            ("系统繁忙", "系统暂时无法处理，请稍后再试。".to_owned())
        }
        AppError::TooManyRequests {
            retry_after_seconds,
        } => ("请稍后再试", too_many(*retry_after_seconds)),
        _ => ("无法处理", "请求无法处理，请返回重试。".to_owned()),
    };
    let mut resp = render(
        status,
        "error.html",
        context! { heading => heading, message => message },
    );
    if let AppError::TooManyRequests {
        retry_after_seconds,
    } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after_seconds.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The words for too many failed attempts.
pub(super) fn too_many(retry_after_seconds: u64) -> String {
    let minutes = retry_after_seconds.div_ceil(60).max(1);
    format!("查询失败次数过多，为保护投诉信息，请 {minutes} 分钟后再试。")
}
