//! Routing a case to its unit: the rules and the conflict-of-interest check at
//! intake (docs/architecture.md, *Routing*), a supervisor's assignment by
//! hand, and what every assignment writes (both clocks, the transfer letter).

use super::*;

/// How an assignment comes about.
pub struct AssignOrder<'a> {
    pub how: &'a str,
    pub by: &'a AuditActor,
    pub handle_workdays: Option<i32>,
    pub note: Option<&'a str>,
    /// `Assign`, or `Reopen`: a reopened case goes straight back to work,
    /// acknowledged.
    pub act: Act,
}

/// Sends a case to `unit` with both clocks and a transfer letter. Ends the
/// case's open assignment, if any.
pub(super) fn assign_to(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    unit: &Unit,
    order: AssignOrder<'_>,
    now: DateTime<Utc>,
) -> AppResult<Complaint> {
    let now_db = db::to_db(now);
    if let Some(open) = assignments::current(conn, c.id)? {
        assignments::end(conn, open.id, "reassigned", now_db)?;
        // A request the old unit made lapses with its assignment.
        records::lapse_pending_extensions(conn, c.id, now_db)?;
    }
    let cat = category(conn, c)?;
    let (ack_days, default_handle) = limits(cat.as_ref(), env.limit_factor);
    let handle_days = order.handle_workdays.unwrap_or(default_handle);
    let ack_due = env.calendar.due(now, ack_days as u32, env.tz);
    let due = env.calendar.due(now, handle_days as u32, env.tz);
    let provisional = ack_due.provisional || due.provisional;
    // The window the transfer letter states is the one the check applies.
    let return_due = match env.return_window {
        ReturnWindow::Acknowledge => ack_due.at,
        ReturnWindow::Handling => due.at,
    };
    // A reopened case goes back to the unit that signed for it.
    let acknowledged_at = (order.act == Act::Reopen).then_some(now_db);
    let a = assignments::insert(
        conn,
        &NewAssignment {
            complaint_id: c.id,
            unit_code: &unit.code,
            assigned_at: now_db,
            assigned_by: order.by.id,
            how: order.how,
            note: order.note,
            ack_workdays: ack_days,
            handle_workdays: handle_days,
            ack_due_at: db::to_db(ack_due.at),
            due_at: db::to_db(due.at),
            acknowledged_at,
            return_due_at: Some(db::to_db(return_due)),
            calendar_provisional: provisional,
        },
    )?;
    let status = apply(c, order.act)?;
    change(
        conn,
        c,
        CaseChanges {
            status: Some(status.as_str()),
            responsible_unit_code: Some(Some(&unit.code)),
            ack_due_at: Some(Some(a.ack_due_at)),
            due_at: Some(Some(a.due_at)),
            acknowledged_at: Some(acknowledged_at),
            return_requested: Some(false),
            needs_confirmation: Some(false),
            extension_requested: Some(false),
            calendar_provisional: Some(provisional),
            updated_at: Some(now_db),
            // The sweep works out this assignment's ladder at its next run.
            next_escalation_at: Some(Some(now_db)),
            ..Default::default()
        },
    )?;
    let updated = reload(conn, c.id)?;
    let category_name = cat.map(|x| x.name);
    let l = &env.letters;
    let letter_id = letters::issue(
        conn,
        l,
        LetterRequest {
            kind: crate::domain::letters::LetterKind::Transfer,
            complaint: &updated,
            unit,
            category_name,
            cc: None,
            history: Vec::new(),
            extra: json!({
                "ack_due_local": l.local_date(ack_due.at),
                "due_local": l.local_date(due.at),
                "return_due_local": l.local_date(return_due),
                "return_within_ack": env.return_window == ReturnWindow::Acknowledge,
                "handle_workdays": handle_days,
                "note": order.note,
                "provisional": provisional,
            }),
        },
        now,
    )?;
    let number = letters::numbers(conn, &[letter_id])?
        .remove(&letter_id)
        .unwrap_or_default();
    let (ack_local, due_local) = (l.local_date(ack_due.at), l.local_date(due.at));
    let words = Words::new(format!(
        "{}至{}（{}），签收期限{ack_local}，办理期限{due_local}（{handle_days}个工作日{}），转办单{number}",
        if order.act == Act::Reopen { "重新交" } else { "转" },
        unit.name,
        labels::how_label(order.how),
        if provisional { "，按法定节假日暂定" } else { "" },
    ))
    .to_unit(format!(
        "作风办将本件交你单位办理（转办单{number}），签收期限{ack_local}，办理期限{due_local}"
    ))
    .to_public(format!("已转交{}办理，办理期限至{due_local}", unit.name));
    record(conn, &updated, order.by, "assigned", words, now)?;
    Ok(updated)
}

/// Where routing would send a case, after the conflict check.
enum Route {
    To(Box<Unit>),
    Hold(HoldReason),
    None,
}

/// Why a case waits for a supervisor instead of going out: shown on the
/// office's queue, never to a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldReason {
    /// The subject person works at the unit routing chose.
    OwnOfficer,
    /// A leader title is named without a unit, or a surname with a title.
    LeaderUnsure,
    /// The subject person leads the unit and there is no unit above it.
    LeaderWithoutParent,
    /// Unusually many filings name the same unit: screened before routing.
    Burst,
}

impl HoldReason {
    pub fn code(self) -> &'static str {
        match self {
            HoldReason::OwnOfficer => "own_officer",
            HoldReason::LeaderUnsure => "leader_unsure",
            HoldReason::LeaderWithoutParent => "leader_without_parent",
            HoldReason::Burst => "burst",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HoldReason::OwnOfficer => "被反映人为拟承办单位工作人员",
            HoldReason::LeaderUnsure => "提及领导职务但无法确定所属单位",
            HoldReason::LeaderWithoutParent => "被反映人为拟承办单位负责人，且无上级单位",
            HoldReason::Burst => "短时间内针对同一单位的投诉异常集中，待甄别",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            HoldReason::OwnOfficer,
            HoldReason::LeaderUnsure,
            HoldReason::LeaderWithoutParent,
            HoldReason::Burst,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

fn resolve_target(conn: &mut DbConn, target: &Target, c: &Complaint) -> AppResult<Option<Unit>> {
    let code = match target {
        Target::Unit(code) => Some(code.clone()),
        Target::SubjectUnit => c.subject_unit_code.clone(),
        Target::SubjectUnitParent => match &c.subject_unit_code {
            Some(s) => db::units::find(conn, s)?.and_then(|u| u.parent_code),
            None => None,
        },
        Target::TownshipUnit => match &c.township {
            Some(name) => db::units::township_named(conn, name)?,
            None => None,
        },
    };
    Ok(match code {
        Some(code) => db::units::find(conn, &code)?.filter(|u| u.active),
        None => None,
    })
}

/// The unit above `u` for a conflict: its parent, or the office.
fn escalate_conflict(conn: &mut DbConn, env: &Env, u: &Unit) -> AppResult<Option<Unit>> {
    let up = u
        .parent_code
        .clone()
        .unwrap_or_else(|| env.letters.office_unit.clone());
    if up == u.code {
        return Ok(None);
    }
    Ok(db::units::find(conn, &up)?.filter(|x| x.active))
}

fn route(conn: &mut DbConn, env: &Env, c: &Complaint) -> AppResult<Route> {
    let facts = Facts {
        category: c.category_code.as_deref(),
        subject_unit: c.subject_unit_code.as_deref(),
        township: c.township.as_deref(),
        title: &c.title,
        content: &c.content,
    };
    let Some(rule) = env.routing.first_match(&facts) else {
        return Ok(Route::None);
    };
    let Some(mut target) = resolve_target(conn, &rule.target, c)? else {
        return Ok(Route::None);
    };
    let units: Vec<UnitInfo> = db::units::active(conn)?.iter().map(info).collect();
    // Up the chain of parents while the complaint is about the leader of
    // the unit it would go to (a chain, never a loop: at most its length).
    for _ in 0..=units.len() {
        match routing::conflict(
            &info(&target),
            &units,
            &mentions(c),
            &env.routing.leader_titles,
        ) {
            Conflict::None => return Ok(Route::To(Box::new(target))),
            Conflict::OwnOfficer => return Ok(Route::Hold(HoldReason::OwnOfficer)),
            Conflict::Unsure => return Ok(Route::Hold(HoldReason::LeaderUnsure)),
            Conflict::Leader => match escalate_conflict(conn, env, &target)? {
                Some(up) => target = up,
                None => return Ok(Route::Hold(HoldReason::LeaderWithoutParent)),
            },
        }
    }
    Ok(Route::Hold(HoldReason::LeaderWithoutParent))
}

/// Whether this filing is one of a burst naming the same unit: more public
/// filings naming it in the window than `intake.burst_per_unit`. Such a case
/// is screened by a supervisor before any letter goes out (a flood of junk
/// must not turn into a flood of numbered letters). Counted on the index of
/// subject unit and time, without a counter row that every filing would
/// lock.
fn burst(conn: &mut DbConn, env: &Env, c: &Complaint, now: DateTime<Utc>) -> AppResult<bool> {
    let (Some(unit), Some(limit)) = (&c.subject_unit_code, env.limits.burst_per_unit) else {
        return Ok(false);
    };
    if !crate::domain::channels::PUBLIC_CHANNELS.contains(&c.channel.as_str()) {
        return Ok(false);
    }
    let since = db::to_db(now - env.limits.burst_window);
    let recent = complaint_rows::count_naming(
        conn,
        unit,
        crate::domain::channels::PUBLIC_CHANNELS,
        since,
        limit + 1,
    )?;
    Ok(recent > limit)
}

/// What the conflict check reads in a case.
fn mentions(c: &Complaint) -> routing::Mentions<'_> {
    routing::Mentions {
        subject_unit: c.subject_unit_code.as_deref(),
        subject_person: c.subject_person.as_deref(),
        title: &c.title,
        content: &c.content,
    }
}

/// Applies the routing rules to a just-received case (inside the intake
/// transaction). Unmatched or held cases wait as `received`.
#[instrument(skip_all, fields(complaint.id = c.id))]
pub fn auto_route(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    now: DateTime<Utc>,
) -> AppResult<Complaint> {
    let system = AuditActor::system();
    let route = if burst(conn, env, c, now)? {
        Route::Hold(HoldReason::Burst)
    } else {
        route(conn, env, c)?
    };
    match route {
        Route::To(unit) => assign_to(
            conn,
            env,
            c,
            &unit,
            AssignOrder {
                how: "auto",
                by: &system,
                handle_workdays: None,
                note: None,
                act: Act::Assign,
            },
            now,
        ),
        Route::Hold(why) => {
            change(
                conn,
                c,
                CaseChanges {
                    needs_confirmation: Some(true),
                    hold_reason: Some(Some(why.code())),
                    ..Default::default()
                },
            )?;
            if why == HoldReason::Burst {
                metrics::counter!("duban_intake_bursts_held_total").increment(1);
            }
            // The routing reason is the office's alone.
            record(
                conn,
                c,
                &system,
                "routing_held",
                Words::new(format!("待督办员确认后转办：{}", why.label())),
                now,
            )?;
            reload(conn, c.id)
        }
        Route::None => Ok(c.clone()),
    }
}

/// `POST /complaints/{no}/assign` (supervisor): manual routing or re-routing.
pub fn assign(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: AssignCase,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <AssignCase as Command>::ACTION)?;
    let (unit_code, handle, confirm) = (
        cmd.unit.into_inner(),
        days(cmd.handle_workdays),
        cmd.confirm,
    );
    let note = cmd.note.map(String::from);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        apply(&c, Act::Assign)?;
        let Some(target) = db::units::find(conn, &unit_code)?.filter(|u| u.active) else {
            return Err(AppError::field("unit", Code::NotAUnit));
        };
        let units: Vec<UnitInfo> = db::units::active(conn)?.iter().map(info).collect();
        match routing::conflict(
            &info(&target),
            &units,
            &mentions(&c),
            &env.routing.leader_titles,
        ) {
            Conflict::Leader => {
                return Err(AppError::field_with(
                    "unit",
                    Code::LeaderConflict,
                    "the complaint is about this unit's leader: assign the case to its parent unit or the office",
                ));
            }
            Conflict::OwnOfficer if !confirm => {
                return Err(AppError::field_with(
                    "confirm",
                    Code::NeedsConfirmation,
                    "the subject person works at this unit: send confirm: true to assign it there anyway",
                ));
            }
            Conflict::Unsure if !confirm => {
                return Err(AppError::field_with(
                    "confirm",
                    Code::NeedsConfirmation,
                    "the complaint names a leader's title that may be this unit's: send confirm: true \
                     once you have checked it is not",
                ));
            }
            _ => {}
        }
        let order = AssignOrder {
            how: if c.status == Status::Received.as_str() {
                "manual"
            } else {
                "rerouted"
            },
            by: &by,
            handle_workdays: handle,
            note: note.as_deref(),
            act: Act::Assign,
        };
        Ok(CaseState::from(&assign_to(
            conn, env, &c, &target, order, now,
        )?))
    })
}
