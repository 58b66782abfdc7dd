//! The unit's work on a case and the office's answers to its requests: sign
//! for, return, progress (and its publication), extensions, the report.

use super::*;

/// `POST /complaints/{no}/acknowledge` (unit): signs for the case; the
/// acknowledge clock stops.
pub fn acknowledge(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Handle)?;
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        let status = apply(&c, Act::Acknowledge)?;
        let now_db = db::to_db(now);
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        assignments::update(
            conn,
            a.id,
            &AssignmentChanges {
                acknowledged_at: Some(Some(now_db)),
                ..Default::default()
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                status: Some(status.as_str()),
                acknowledged_at: Some(Some(now_db)),
                updated_at: Some(now_db),
                ..Default::default()
            },
        )?;
        let u = unit(conn, &a.unit_code)?;
        let late = late(now_db, a.ack_due_at);
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "acknowledged",
            Words::new(format!("{}签收{late}", u.name))
                .to_unit(format!("你单位已签收{late}"))
                .to_public(format!("{}已签收", u.name)),
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/return` (unit): "not ours", within the return
/// window its transfer letter stated. The case stays with the unit, flagged,
/// clocks running, until a supervisor decides.
pub fn request_return(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: ReturnRequest,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <ReturnRequest as Command>::ACTION)?;
    let reason = cmd.reason.into_inner();
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        apply(&c, Act::AskReturn)?;
        if c.return_requested {
            return Err(AppError::Conflict(
                "a return request is already waiting for a decision".into(),
            ));
        }
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        // The window the transfer letter stated (rows from before it was
        // kept: the sign-for deadline, the default).
        let window_end = a.return_due_at.unwrap_or(a.ack_due_at);
        if db::to_db(now) > window_end {
            let end = db::from_db(window_end);
            return Err(AppError::Conflict(format!(
                "the return window ended at {} ({}): the unit must handle the case; \
                 ask for an extension if more time is needed",
                end.to_rfc3339(),
                labels::local_minute(end, env.tz),
            )));
        }
        assignments::update(
            conn,
            a.id,
            &AssignmentChanges {
                return_reason: Some(Some(&reason)),
                ..Default::default()
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                return_requested: Some(true),
                updated_at: Some(db::to_db(now)),
                ..Default::default()
            },
        )?;
        let u = unit(conn, &a.unit_code)?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "return_requested",
            Words::new(format!("{}申请退回", u.name)).to_unit("你单位申请退回，待作风办决定"),
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/return/decision` (supervisor): approve → back to
/// `received` with clocks cleared; deny → the unit keeps it, clocks as they were.
pub fn decide_return(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: Decide,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Decide as Command>::ACTION)?;
    let (approve, note) = decision(cmd);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        if !c.return_requested {
            return Err(AppError::Conflict(format!(
                "no return request is waiting (the case is {})",
                c.status
            )));
        }
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let u = unit(conn, &a.unit_code)?;
        let now_db = db::to_db(now);
        if approve {
            let status = apply(&c, Act::ApproveReturn)?;
            assignments::end(conn, a.id, "returned", now_db)?;
            records::lapse_pending_extensions(conn, c.id, now_db)?;
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    responsible_unit_code: Some(None),
                    ack_due_at: Some(None),
                    due_at: Some(None),
                    acknowledged_at: Some(None),
                    return_requested: Some(false),
                    extension_requested: Some(false),
                    calendar_provisional: Some(false),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            record(
                conn,
                &c,
                &by,
                "return_approved",
                Words::new(format!("同意{}退回，待重新确定承办单位", u.name))
                    .to_unit("作风办同意你单位退回本件")
                    .to_public("重新确定承办单位"),
                now,
            )?;
        } else {
            apply(&c, Act::DenyReturn)?;
            change(
                conn,
                &c,
                CaseChanges {
                    return_requested: Some(false),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let body = format!(
                "你单位的退回申请未获同意，请继续办理。{}",
                note.as_deref().unwrap_or("")
            );
            tell_unit(
                conn,
                env,
                &c,
                &u,
                &by,
                Told {
                    kind: NoticeKind::ReturnDenied,
                    text: &body,
                    action: "return_denied",
                    words: Words::new(format!("不同意{}退回", u.name))
                        .to_unit("作风办不同意退回，请继续办理"),
                },
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/progress` (unit): an interim update, public if the
/// unit marks it so.
pub fn add_progress(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: AddProgress,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <AddProgress as Command>::ACTION)?;
    let (content, public) = (cmd.content.into_inner(), cmd.public);
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        if c.status == Status::Assigned.as_str() {
            return Err(AppError::Conflict(
                "the case is assigned: acknowledge it before reporting progress".into(),
            ));
        }
        apply(&c, Act::Progress)?;
        let unit_code = c.responsible_unit_code.clone().unwrap_or_default();
        // The unit complained about does not write straight onto the
        // citizen's page: its public note waits for the office, unless the
        // office trusts the unit (`workflow.trusted_units`).
        let trusted = env.trusted_units.contains(&unit_code);
        let publication = match (public, trusted) {
            (false, _) => "none",
            (true, true) => "approved",
            (true, false) => "pending",
        };
        let note_id = records::add_progress(
            conn,
            &NewProgressNote {
                complaint_id: c.id,
                unit_code: &unit_code,
                author_id: actor.user_id,
                content: &content,
                public,
                created_at: db::to_db(now),
                publication,
            },
        )?;
        if publication == "pending" {
            change(
                conn,
                &c,
                CaseChanges {
                    note_awaiting_approval: Some(true),
                    ..Default::default()
                },
            )?;
        }
        let u = unit(conn, &unit_code)?;
        let (staff, to_unit) = match publication {
            "pending" => (
                format!("{}报送办理进展（进展{note_id}，申请公开，待审核）", u.name),
                "你单位报送办理进展，申请公开，待作风办审核",
            ),
            "approved" => (
                format!("{}报送办理进展（进展{note_id}，公开）", u.name),
                "你单位报送办理进展（已公开）",
            ),
            _ => (
                format!("{}报送办理进展（进展{note_id}，内部）", u.name),
                "你单位报送办理进展",
            ),
        };
        let mut words = Words::new(staff).to_unit(to_unit);
        if publication == "approved" {
            words = words.to_public(content.clone());
        }
        record(conn, &c, &AuditActor::from(actor), "progress", words, now)?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/progress/{id}/publication` (supervisor): a note
/// the unit marked public goes on the citizen's page (`approve`) or stays
/// internal (`deny`).
pub fn decide_publication(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    note_id: i64,
    cmd: Decide,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Decide as Command>::ACTION)?;
    let (approve, note) = decision(cmd);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let n = pending(
            records::progress(conn, c.id)?,
            note_id,
            |n| (n.id, &n.publication),
            |s| format!("the note's publication is already decided ({s})"),
        )?;
        let now_db = db::to_db(now);
        let outcome = if approve { "approved" } else { "denied" };
        records::decide_publication(conn, n.id, outcome, actor.user_id, now_db)?;
        if records::pending_publication(conn, c.id)? == 0 {
            change(
                conn,
                &c,
                CaseChanges {
                    note_awaiting_approval: Some(false),
                    ..Default::default()
                },
            )?;
        }
        let words = if approve {
            Words::new(format!("同意公开办理进展（进展{}）", n.id))
                .to_unit("作风办同意公开你单位报送的办理进展")
                .to_public(n.content.clone())
        } else {
            Words::new(format!(
                "不同意公开办理进展（进展{}）{}",
                n.id,
                note.as_deref()
                    .map(|x| format!("：{x}"))
                    .unwrap_or_default()
            ))
            .to_unit("作风办未同意公开你单位报送的该条进展")
        };
        let action = if approve {
            "progress_published"
        } else {
            "progress_publication_denied"
        };
        record(conn, &c, &by, action, words, now)?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// An extension request as filed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExtensionCreated {
    pub id: i64,
    #[schema(example = "pending")]
    pub status: String,
    pub workdays: i32,
    pub requested_at: DateTime<Utc>,
}

/// `POST /complaints/{no}/extensions` (unit): only before `due_at`, one
/// pending request at a time.
pub fn request_extension(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    cmd: RequestExtension,
    now: DateTime<Utc>,
) -> AppResult<ExtensionCreated> {
    policy::require(actor, <RequestExtension as Command>::ACTION)?;
    let (days, reason) = (cmd.workdays.get() as i32, cmd.reason.into_inner());
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        apply(&c, Act::Extension)?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        if now_db >= a.due_at {
            return Err(AppError::Conflict(
                "the handling deadline has passed: an extension must be asked for before it".into(),
            ));
        }
        let pending = records::pending_extensions(conn, c.id)?;
        if pending > 0 || c.extension_requested {
            return Err(AppError::Conflict(
                "an extension request is already waiting for a decision".into(),
            ));
        }
        let e = records::add_extension(
            conn,
            &NewExtension {
                complaint_id: c.id,
                assignment_id: a.id,
                workdays: days,
                reason: &reason,
                status: "pending",
                requested_by: actor.user_id,
                requested_at: now_db,
                old_due_at: a.due_at,
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                extension_requested: Some(true),
                updated_at: Some(now_db),
                ..Default::default()
            },
        )?;
        let u = unit(conn, &a.unit_code)?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "extension_requested",
            Words::new(format!("{}申请延期{days}个工作日", u.name))
                .to_unit(format!("你单位申请延期{days}个工作日，待作风办审批")),
            now,
        )?;
        Ok(ExtensionCreated {
            id: e.id,
            status: e.status,
            workdays: e.workdays,
            requested_at: db::from_db(e.requested_at),
        })
    })
}

/// `POST /complaints/{no}/extensions/{id}/decision` (supervisor): approval
/// moves `due_at` by the working days asked, counted from the old deadline.
pub fn decide_extension(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    id: i64,
    cmd: Decide,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Decide as Command>::ACTION)?;
    let (approve, note) = decision(cmd);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let e = pending(
            records::extensions(conn, c.id)?,
            id,
            |e| (e.id, &e.status),
            |s| format!("the extension request is already {s}"),
        )?;
        apply(&c, Act::Extension)?;
        let a = assignments::current(conn, c.id)?
            .filter(|a| a.id == e.assignment_id)
            .ok_or_else(|| {
                AppError::Conflict("the case has been reassigned since the request".into())
            })?;
        let u = unit(conn, &a.unit_code)?;
        let now_db = db::to_db(now);
        change(
            conn,
            &c,
            CaseChanges {
                extension_requested: Some(false),
                ..Default::default()
            },
        )?;
        if approve {
            let moved = env
                .calendar
                .due(db::from_db(a.due_at), e.workdays as u32, env.tz);
            let new_due = moved.at;
            let new_due_db = db::to_db(new_due);
            let provisional = a.calendar_provisional || moved.provisional;
            records::decide_extension(
                conn,
                e.id,
                "approved",
                actor.user_id,
                now_db,
                note.as_deref(),
                Some(new_due_db),
            )?;
            assignments::update(
                conn,
                a.id,
                &AssignmentChanges {
                    due_at: Some(new_due_db),
                    handle_workdays: Some(a.handle_workdays + e.workdays),
                    calendar_provisional: Some(provisional),
                    ..Default::default()
                },
            )?;
            change(
                conn,
                &c,
                CaseChanges {
                    due_at: Some(Some(new_due_db)),
                    calendar_provisional: Some(provisional),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let date = env.letters.local_date(new_due);
            let caveat = if moved.provisional {
                "（该期限按法定节假日暂定，国务院办公厅公布当年放假安排后以正式安排为准）"
            } else {
                ""
            };
            tell_unit(
                conn,
                env,
                &c,
                &u,
                &by,
                Told {
                    kind: NoticeKind::ExtensionApproved,
                    text: &format!("你单位的延期申请已批准，办理期限延至{date}。{caveat}"),
                    action: "extension_approved",
                    words: Words::new(format!(
                        "批准延期{}个工作日，办理期限延至{date}{caveat}",
                        e.workdays
                    ))
                    .to_unit(format!("延期申请已批准，办理期限延至{date}"))
                    .to_public(format!("办理期限延至{date}")),
                },
                now,
            )?;
        } else {
            records::decide_extension(
                conn,
                e.id,
                "denied",
                actor.user_id,
                now_db,
                note.as_deref(),
                None,
            )?;
            let body = format!(
                "你单位的延期申请未获批准，请按原期限办结。{}",
                note.as_deref().unwrap_or("")
            );
            tell_unit(
                conn,
                env,
                &c,
                &u,
                &by,
                Told {
                    kind: NoticeKind::ExtensionDenied,
                    text: &body,
                    action: "extension_denied",
                    words: Words::new(format!("不批准延期{}个工作日", e.workdays))
                        .to_unit("延期申请未获批准，请按原期限办结"),
                },
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/report` (unit): the final answer; the handling
/// clock stops.
pub fn submit_report(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    cmd: SubmitReport,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <SubmitReport as Command>::ACTION)?;
    let deadline = cmd.rectification_deadline.0;
    let items = cmd.rectification_items;
    let (findings, measures, person, target, reply) = (
        cmd.findings.into_inner(),
        cmd.measures.into_inner(),
        cmd.responsible_person.into_inner(),
        cmd.target.into_inner(),
        cmd.public_reply.into_inner(),
    );
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        let status = apply(&c, Act::Report)?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        let report_id = records::add_report(
            conn,
            &NewReport {
                complaint_id: c.id,
                assignment_id: a.id,
                findings: &findings,
                measures: &measures,
                responsible_person: &person,
                rectification_deadline: deadline,
                target: &target,
                public_reply: &reply,
                submitted_by: actor.user_id,
                submitted_at: now_db,
            },
        )?;
        for i in &items {
            records::add_item(
                conn,
                &NewRectificationItem {
                    report_id,
                    content: &i.content,
                    responsible_person: &i.responsible_person,
                    deadline: i.deadline,
                    target: &i.target,
                    status: "open",
                },
            )?;
        }
        assignments::update(
            conn,
            a.id,
            &AssignmentChanges {
                reported_at: Some(Some(now_db)),
                ..Default::default()
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                status: Some(status.as_str()),
                updated_at: Some(now_db),
                ..Default::default()
            },
        )?;
        let late = late(now_db, a.due_at);
        let u = unit(conn, &a.unit_code)?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "reported",
            Words::new(format!(
                "{}报送办结报告{late}（报告{report_id}，整改事项{}项）",
                u.name,
                items.len()
            ))
            .to_unit(format!("你单位报送办结报告{late}，待作风办审核"))
            .to_public("承办单位已报送办理结果，待审核"),
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}
