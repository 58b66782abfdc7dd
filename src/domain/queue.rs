//! The supervisor's day (docs/architecture.md, "The queue"): one answer with
//! every bucket of work waiting for the office — its count and its oldest
//! cases — read with one indexed statement per bucket and one more for the
//! listed cases.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::{self, DbConn};
use crate::domain::cases::{self, ComplaintSummary, Reading};
use crate::error::AppResult;

/// One bucket of the queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueBucket {
    /// `unrouted`, `needs_confirmation`, `possible_duplicate`,
    /// `return_requested`, `extension_requested`, `report_awaiting_review`,
    /// `note_awaiting_approval`, `overdue_reminder`, `overdue_supervision`,
    /// `overdue_accountability`, `delivery_failed`, `chased`, `unsatisfied`,
    /// `callbacks_due`.
    pub bucket: &'static str,
    /// The bucket in words.
    pub label: &'static str,
    pub count: i64,
    /// Its oldest cases, oldest first.
    pub oldest: Vec<ComplaintSummary>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub at: DateTime<Utc>,
    pub buckets: Vec<QueueBucket>,
}

pub fn bucket_label(name: &str) -> &'static str {
    match name {
        "unrouted" => "待转办",
        "needs_confirmation" => "待确认（利益冲突或被反映人）",
        "possible_duplicate" => "疑似重复件",
        "return_requested" => "申请退回",
        "extension_requested" => "申请延期",
        "report_awaiting_review" => "办结报告待审核",
        "note_awaiting_approval" => "公开进展待审核",
        "overdue_reminder" => "已超期（催办阶段）",
        "overdue_supervision" => "已超期（已发督办函）",
        "overdue_accountability" => "已超期（已启动问责）",
        "delivery_failed" => "函件投递失败",
        "chased" => "群众多次催办",
        "unsatisfied" => "群众不满意待研究",
        "callbacks_due" => "待回访",
        _ => "其他",
    }
}

/// `GET /queue` (supervisor).
pub fn read(
    conn: &mut DbConn,
    actor: &Actor,
    limit: i64,
    reading: &Reading<'_>,
) -> AppResult<Queue> {
    policy::require(actor, Action::Supervise)?;
    let now = db::to_db(reading.now);
    let found = db::queue::read_all(conn, now, limit.max(1))?;
    let mut ids: Vec<i64> = found
        .iter()
        .flat_map(|(_, bucket_ids, _)| bucket_ids.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let summaries = cases::summaries(conn, actor, &ids, reading)?;
    let buckets = found
        .into_iter()
        .map(|(name, bucket_ids, count)| QueueBucket {
            bucket: name,
            label: bucket_label(name),
            count,
            oldest: bucket_ids
                .iter()
                .filter_map(|id| {
                    // A case in two buckets is listed in both.
                    summaries.get(id).cloned()
                })
                .collect(),
        })
        .collect();
    Ok(Queue {
        at: reading.now,
        buckets,
    })
}
