//! Screening: an invalid case is rejected (or voided once sent out), a
//! duplicate merged into its case, a possible duplicate cleared
//! (docs/architecture.md, *Voiding a case*).

use super::*;

/// `POST /complaints/{no}/screen` (supervisor): invalid → rejected,
/// duplicate → merged into another case (its text becomes a supplement of
/// that case), not_duplicate → the possible-duplicate flag is cleared.
pub fn screen(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: Screen,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Screen as Command>::ACTION)?;
    let decision = cmd.decision;
    let reason = cmd.reason.map(String::from);
    let dup = cmd.duplicate_of.map(String::from);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let now_db = db::to_db(now);
        if decision == ScreenDecision::NotDuplicate {
            apply(&c, Act::DismissDuplicate)?;
            if !c.possible_duplicate {
                return Err(AppError::Conflict(
                    "the case is not marked as a possible duplicate".into(),
                ));
            }
            complaint_rows::set_possible_duplicate(conn, c.id, false)?;
            record(
                conn,
                &c,
                &by,
                "duplicate_dismissed",
                Words::new(match &reason {
                    Some(r) => format!("经核实不是重复件：{r}"),
                    None => "经核实不是重复件".to_owned(),
                }),
                now,
            )?;
        } else if decision == ScreenDecision::Invalid {
            // Any open case can be voided: a junk case already sent out is
            // withdrawn from its unit.
            let status = apply(&c, Act::ScreenInvalid)?;
            if c.status != Status::Received.as_str() {
                return void(conn, env, &c, &by, reason.as_deref(), now);
            }
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    screen_reason: Some(reason.as_deref()),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            record(
                conn,
                &c,
                &by,
                "screened_invalid",
                Words::new("经审查不予受理").to_public("经审查不予受理"),
                now,
            )?;
        } else {
            let status = apply(&c, Act::Merge)?;
            let target_no = complaint_rows::normalise_tracking_no(&dup.clone().unwrap_or_default());
            let target = complaint_rows::by_tracking_no(conn, &target_no)?.filter(|t| {
                t.id != c.id
                    && !matches!(
                        Status::parse(&t.status),
                        Some(Status::Merged | Status::Rejected)
                    )
            });
            let Some(target) = target else {
                return Err(AppError::field_with(
                    "duplicate_of",
                    Code::NotACase,
                    "must be another open case's tracking number",
                ));
            };
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    duplicate_of: Some(Some(&target.tracking_no)),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let note = format!("与受理编号{}合并办理", target.tracking_no);
            record(
                conn,
                &c,
                &by,
                "merged",
                Words::new(format!("作为重复件并入受理编号{}", target.tracking_no)).to_public(note),
                now,
            )?;
            // Merges are the office's: the unit of the kept case is not told
            // of the merge, only sent the facts the second case adds.
            record(
                conn,
                &target,
                &by,
                "duplicate_linked",
                Words::new(format!("受理编号{}作为重复件并入本件", c.tracking_no)),
                now,
            )?;
            let target = lock_case(conn, &target.tracking_no)?;
            crate::domain::supplements::add(
                conn,
                env,
                &target,
                crate::domain::supplements::Source::Merge { from: &c },
                &format!("{}\n{}", c.title, c.content),
                &by,
                now,
            )?;
            db::escalations::touch(conn, target.id, now_db)?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// Voids a case that was already sent to a unit (docs/architecture.md,
/// "Voiding a case"): the assignment ends, its clocks stop and no further
/// escalation step fires (the case is no longer open), pending extension
/// requests lapse, the letters sent for it stay numbered but are marked
/// withdrawn (their unsent e-mails are cancelled), and the unit is told in a
/// notice citing the transfer letter.
fn void(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    by: &AuditActor,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    let now_db = db::to_db(now);
    let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(c))?;
    assignments::end(conn, a.id, "withdrawn", now_db)?;
    records::lapse_pending_extensions(conn, c.id, now_db)?;
    let numbers = db::letters::withdraw_for_complaint(conn, c.id, &a.unit_code, now_db)?;
    let status = apply(c, Act::ScreenInvalid)?;
    change(
        conn,
        c,
        CaseChanges {
            status: Some(status.as_str()),
            screen_reason: Some(reason),
            updated_at: Some(now_db),
            ..Default::default()
        },
    )?;
    let u = unit(conn, &a.unit_code)?;
    let cited = if numbers.is_empty() {
        String::new()
    } else {
        format!("（{}）", numbers.join("、"))
    };
    letters::notice(
        conn,
        &env.letters,
        c,
        &u,
        NoticeKind::Withdrawn,
        &format!(
            "经审查，受理编号{}不予受理，撤销此前的交办{cited}。请停止办理，本件不再计入你单位的办理期限。",
            c.tracking_no
        ),
        now,
    )?;
    record(
        conn,
        c,
        by,
        "screened_invalid",
        Words::new(format!("经审查不予受理，撤销对{}的交办{cited}", u.name))
            .to_unit(format!("作风办撤销交办{cited}，本件不再由你单位办理"))
            .to_public("经审查不予受理"),
        now,
    )?;
    Ok(CaseState::from(&reload(conn, c.id)?))
}
