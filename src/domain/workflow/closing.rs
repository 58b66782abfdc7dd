//! Closing a case and after: the office's review, callbacks and the
//! citizen's rating, reopening (docs/architecture.md, *The hotline desk*).

use super::*;

/// `POST /complaints/{no}/review` (supervisor): accept closes the case and
/// publishes the reply; redo sends it back with a new deadline.
pub fn review(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: Review,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Review as Command>::ACTION)?;
    let (decision, handle) = (cmd.decision, days(cmd.handle_workdays));
    let comment = cmd.comment.map(String::from);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let status = apply(
            &c,
            match decision {
                ReviewDecision::Accept => Act::Accept,
                ReviewDecision::Redo => Act::Redo,
            },
        )?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let report = records::reports(conn, c.id)?
            .pop()
            .ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        if decision == ReviewDecision::Accept {
            records::review_report(
                conn,
                report.id,
                "accepted",
                comment.as_deref(),
                actor.user_id,
                now_db,
            )?;
            assignments::end(conn, a.id, "closed", now_db)?;
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    public_reply: Some(Some(&report.public_reply)),
                    satisfaction: Some(None),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            record(
                conn,
                &c,
                &by,
                "closed",
                Words::new(format!("办结报告（报告{}）审核通过，办结", report.id))
                    .to_unit("办结报告审核通过，本件办结")
                    .to_public("已办结"),
                now,
            )?;
            open_on_close(conn, env, &c, now)?;
        } else {
            let days = handle.unwrap_or(a.handle_workdays);
            let redo_due = env.calendar.due(now, days as u32, env.tz);
            let due = redo_due.at;
            records::review_report(
                conn,
                report.id,
                "redo",
                comment.as_deref(),
                actor.user_id,
                now_db,
            )?;
            let provisional = a.calendar_provisional || redo_due.provisional;
            assignments::update(
                conn,
                a.id,
                &AssignmentChanges {
                    due_at: Some(db::to_db(due)),
                    reported_at: Some(None),
                    calendar_provisional: Some(provisional),
                    ..Default::default()
                },
            )?;
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    due_at: Some(Some(db::to_db(due))),
                    calendar_provisional: Some(provisional),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let u = unit(conn, &a.unit_code)?;
            let date = env.letters.local_date(due);
            let text = format!(
                "你单位报送的办理结果未通过审核，请重新办理，于{date}前重新报送。审核意见：{}",
                comment.as_deref().unwrap_or("")
            );
            tell_unit(
                conn,
                env,
                &c,
                &u,
                &by,
                Told {
                    kind: NoticeKind::RedoOrdered,
                    text: &text,
                    action: "redo_ordered",
                    words: Words::new(format!(
                        "办结报告（报告{}）未通过审核，责令重办，{days}个工作日，期限{date}",
                        report.id
                    ))
                    .to_unit(format!("办结报告未通过审核，责令重新办理，期限至{date}"))
                    .to_public(format!("责令重新办理，期限至{date}")),
                },
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// Stores a rating (a callback's or the citizen's own): the feedback row,
/// the case's latest satisfaction, and whether the office must decide on
/// reopening (an unsatisfied answer puts the case on its queue).
pub(crate) fn store_satisfaction(
    conn: &mut DbConn,
    c: &Complaint,
    source: &str,
    satisfaction: &str,
    comment: Option<&str>,
    author: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let now_db = db::to_db(now);
    records::add_feedback(
        conn,
        &NewFeedback {
            complaint_id: c.id,
            source,
            satisfaction,
            comment,
            author_id: author,
            created_at: now_db,
        },
    )?;
    change(
        conn,
        c,
        CaseChanges {
            satisfaction: Some(Some(satisfaction)),
            reopen_review: Some(satisfaction == Satisfaction::Unsatisfied.as_str()),
            updated_at: Some(now_db),
            ..Default::default()
        },
    )?;
    Ok(())
}

/// The citizen's own rating of a closed case, once per closure (the caller
/// has checked the query code).
/// Whether the citizen may still rate the case: it is closed and has no
/// public rating since its last closure (an operator's callback does not
/// take the citizen's turn).
pub fn public_feedback_open(conn: &mut DbConn, c: &Complaint) -> AppResult<bool> {
    if Status::of(&c.status)?.after(Act::Rate).is_none() {
        return Ok(false);
    }
    let closed_at = assignments::closed_at(conn, &[c.id])?.remove(&c.id);
    let given = records::feedback_for(conn, c.id)?
        .iter()
        .any(|f| f.source == "public" && closed_at.is_none_or(|t| f.created_at >= t));
    Ok(!given)
}

/// What the citizen is told after rating a case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedbackReceipt {
    /// `recorded`.
    pub status: &'static str,
    /// What happens next, in words that fit the case: an anonymous
    /// complainant is never promised a call.
    pub message: &'static str,
}

/// The words after a rating: whether staff may call back depends on
/// whether the citizen left a way to reach them.
pub fn feedback_message(anonymous: bool, satisfaction: &str) -> &'static str {
    match (satisfaction, anonymous) {
        ("unsatisfied", false) => {
            "您的评价已记录。作风办将复核办理质量，必要时责成承办单位重新办理，工作人员也可能按您留下的电话与您联系。"
        }
        ("unsatisfied", true) => {
            "您的评价已记录。作风办将复核办理质量，必要时责成承办单位重新办理。您是匿名反映，工作人员无法与您联系，请凭受理编号和查询码继续查询办理进展。"
        }
        _ => "您的评价已记录，感谢您对作风建设工作的支持。",
    }
}

pub fn public_feedback(
    conn: &mut DbConn,
    c: &Complaint,
    cmd: &FeedbackRequest,
    now: DateTime<Utc>,
) -> AppResult<FeedbackReceipt> {
    let satisfaction = cmd.satisfaction.as_str();
    let comment = cmd.comment.as_deref();
    with_case(conn, &c.tracking_no, now, |conn, c| {
        apply(&c, Act::Rate)?;
        if !public_feedback_open(conn, &c)? {
            return Err(AppError::Conflict(
                "feedback for this case has already been given".into(),
            ));
        }
        store_satisfaction(conn, &c, "public", satisfaction, comment, None, now)?;
        record(
            conn,
            &c,
            &AuditActor::public(),
            "feedback",
            Words::new(format!(
                "群众评价：{}",
                labels::satisfaction_label(satisfaction)
            ))
            .to_public("群众已评价"),
            now,
        )?;
        Ok(FeedbackReceipt {
            status: "recorded",
            message: feedback_message(c.anonymous, satisfaction),
        })
    })
}

/// `POST /complaints/{no}/reopen` (supervisor): a closed case whose citizen
/// is unsatisfied goes back to its unit with a new deadline, or, with
/// `decision: keep_closed`, stays closed with the office's reason (it leaves
/// the queue).
pub fn reopen(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: Reopen,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Reopen as Command>::ACTION)?;
    let (reason, handle, decision) = (
        cmd.reason.into_inner(),
        days(cmd.handle_workdays),
        cmd.decision,
    );
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        apply(
            &c,
            match decision {
                ReopenDecision::Reopen => Act::Reopen,
                ReopenDecision::KeepClosed => Act::KeepClosed,
            },
        )?;
        if c.satisfaction.as_deref() != Some("unsatisfied") {
            return Err(AppError::Conflict(
                "only a closed case whose citizen is unsatisfied (callback or feedback) can be reopened".into(),
            ));
        }
        if decision == ReopenDecision::KeepClosed {
            complaint_rows::set_reopen_review(conn, c.id, false)?;
            record(
                conn,
                &c,
                &by,
                "reopen_declined",
                Words::new(format!("群众不满意，经研究不重新交办：{reason}")),
                now,
            )?;
            return Ok(CaseState::from(&reload(conn, c.id)?));
        }
        let last: Assignment = assignments::history(conn, c.id)?
            .pop()
            .ok_or_else(|| conflict_status(&c))?;
        let u = unit(conn, &last.unit_code)?;
        let order = AssignOrder {
            how: "reopen",
            by: &by,
            handle_workdays: handle,
            note: Some(&reason),
            act: Act::Reopen,
        };
        let updated = assign_to(conn, env, &c, &u, order, now)?;
        complaint_rows::set_reopen_review(conn, c.id, false)?;
        crate::db::callbacks::set_state(conn, c.id, None, None)?;
        let updated = reload(conn, updated.id)?;
        tell_unit(
            conn,
            env,
            &updated,
            &u,
            &by,
            Told {
                kind: NoticeKind::Reopened,
                text: &format!("群众对办理结果不满意，本件重新交你单位办理。原因：{reason}"),
                action: "reopened",
                words: Words::new("群众不满意，重新交办")
                    .to_unit("群众对办理结果不满意，本件重新交你单位办理")
                    .to_public("群众不满意，重新办理"),
            },
            now,
        )?;
        Ok(CaseState::from(&updated))
    })
}

/// On closing a case: its callback falls due, or is not possible.
pub fn open_on_close(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if c.anonymous || !complaint_rows::has_phone(conn, c.id)? {
        crate::db::callbacks::set_state(conn, c.id, Some("not_possible"), None)?;
        return Ok(());
    }
    let today = now.with_timezone(&env.tz).date_naive();
    let day = env
        .calendar
        .nth_workday_after(today, env.callbacks.after_workdays);
    let due = crate::domain::calendar::start_of_day(day, env.tz).unwrap_or(now);
    crate::db::callbacks::set_state(conn, c.id, Some("due"), Some(db::to_db(due)))?;
    Ok(())
}
