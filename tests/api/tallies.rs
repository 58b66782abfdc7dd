//! The reporting aggregates (docs/architecture.md, "Ranking and
//! statistics") equal a full recount after a random sequence of actions
//! through HTTP: filings, routing, signing, reports, reviews, returns,
//! reassignment, ratings, chasing calls, reopening, escalation sweeps and
//! the clock moving across hours and days, folded at random moments.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use duban::auth::policy::Role;
use duban::db::tallies::{self, Family, Source};
use serde_json::{Value, json};

use crate::escalation::{at, get_json, local, sweep};
use crate::helpers::*;
use crate::workflow::{act, file, routed_body};

/// xorshift64*: enough to pick actions; the seed is printed so a failing
/// sequence can be replayed (`TALLY_SEED=n cargo test …`).
struct Dice(u64);

impl Dice {
    fn new() -> Self {
        let seed = std::env::var("TALLY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(7)
            })
            | 1;
        println!("TALLY_SEED={seed}");
        Dice(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A call about case `no` that began three minutes before `now`.
fn call_about(no: &str, disposition: &str, now: DateTime<Utc>) -> Value {
    json!({
        "caller_phone": "13912345678",
        "started_at": (now - Duration::minutes(3)).to_rfc3339(),
        "duration_seconds": 90,
        "summary": "来电",
        "disposition": disposition,
        "tracking_no": no,
    })
}

fn report() -> Value {
    json!({
        "findings": "经调查，反映问题基本属实。", "measures": "批评教育，开展培训。",
        "responsible_person": "负责人", "rectification_deadline": "2099-12-31",
        "target": "服务规范", "public_reply": "经核查，已责成整改。"
    })
}

const UNITS: [&str; 3] = ["GAJ", "JTJ", "JJDD"];

struct Tokens {
    sup: String,
    op: String,
    units: Vec<(String, String)>,
}

impl Tokens {
    async fn take(app: &TestApp) -> Self {
        let mut units = Vec::new();
        for u in UNITS {
            units.push((u.to_owned(), app.token_for(Role::Unit, Some(u)).await));
        }
        Tokens {
            sup: app.token_for(Role::Supervisor, None).await,
            op: app.token_for(Role::Operator, None).await,
            units,
        }
    }

    fn unit(&self, code: &str) -> Option<&str> {
        self.units
            .iter()
            .find(|(u, _)| u == code)
            .map(|(_, t)| t.as_str())
    }
}

/// Stored (folded and pending) and recounted sums agree for every bucket
/// and for periods that start and end at odd minutes.
fn assert_consistent(app: &TestApp, dice: &mut Dice, start: DateTime<Utc>, now: DateTime<Utc>) {
    let mut conn = app.conn();
    let mismatches = tallies::check(&mut conn).expect("check");
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    let span = (now - start).num_minutes().max(60) as u64;
    let mut periods: Vec<(NaiveDateTime, NaiveDateTime)> = vec![(
        duban::db::to_db(local(2026, 1, 1, 0, 0)),
        duban::db::to_db(local(2027, 1, 1, 0, 0)),
    )];
    for _ in 0..12 {
        let a = start - Duration::hours(30) + Duration::minutes(dice.below(span + 1800) as i64);
        let b = a + Duration::minutes(1 + dice.below(span + 600) as i64);
        periods.push((duban::db::to_db(a), duban::db::to_db(b)));
    }
    for (from, to) in periods {
        for family in [Family::Stats, Family::Ranking] {
            let stored = tallies::sums(&mut conn, family, Source::Aggregates, from, to).unwrap();
            let counted = tallies::sums(&mut conn, family, Source::Recount, from, to).unwrap();
            assert_eq!(stored, counted, "{family:?} over [{from}, {to})");
        }
    }
}

/// Each kind of change once: a case routed, chased, signed for, reported,
/// sent back for redo, reported again, closed, rated and reopened; a case
/// returned, taken back and given to another unit; a case no rule routes,
/// assigned by hand; a sweep. Returns the three cases.
async fn scripted(app: &TestApp, t: &Tokens) -> [(String, String); 3] {
    let gaj = t.unit("GAJ").unwrap();
    let x = file(app, &routed_body()).await;
    let call = call_about(&x.0, "follow_up", app.state.clock.now());
    ok_json(
        app.post_json("/api/v1/calls", &call, Some(&t.op)).await,
        "call",
    )
    .await;
    ok_json(
        act(app, &x.0, "acknowledge", json!({}), gaj).await,
        "acknowledge",
    )
    .await;
    ok_json(act(app, &x.0, "report", report(), gaj).await, "report").await;
    let redo = json!({"decision": "redo", "comment": "未说明处理结果"});
    ok_json(act(app, &x.0, "review", redo, &t.sup).await, "redo").await;
    ok_json(
        act(app, &x.0, "report", report(), gaj).await,
        "report again",
    )
    .await;
    let accept = json!({"decision": "accept"});
    ok_json(act(app, &x.0, "review", accept, &t.sup).await, "accept").await;
    let rating = json!({"tracking_no": x.0, "query_code": x.1, "satisfaction": "unsatisfied"});
    ok_json(
        app.post_json("/api/v1/track/feedback", &rating, None).await,
        "feedback",
    )
    .await;
    let why = json!({"reason": "群众不满意，要求重新核查"});
    ok_json(act(app, &x.0, "reopen", why, &t.sup).await, "reopen").await;

    let y = file(app, &routed_body()).await;
    let back = json!({"reason": "不属于本单位职责"});
    ok_json(act(app, &y.0, "return", back, gaj).await, "return").await;
    let approve = json!({"decision": "approve"});
    ok_json(
        act(app, &y.0, "return/decision", approve, &t.sup).await,
        "approve",
    )
    .await;
    let to_jtj = json!({"unit": "JTJ"});
    ok_json(act(app, &y.0, "assign", to_jtj, &t.sup).await, "assign").await;

    let mut unrouted = routed_body();
    unrouted.as_object_mut().unwrap().remove("subject_unit");
    let z = file(app, &unrouted).await;
    let to_jjdd = json!({"unit": "JJDD"});
    ok_json(
        act(app, &z.0, "assign", to_jjdd, &t.sup).await,
        "assign by hand",
    )
    .await;
    sweep(app).await;
    [x, y, z]
}

#[tokio::test]
async fn the_aggregates_equal_a_full_recount_after_a_random_sequence_of_actions() {
    let app = spawn_with(Spawn {
        // This test folds; the background fold would only make the moments
        // it happens at unknown.
        customise: Box::new(|s| s.ranking.fold_interval_ms = 600_000),
        ..Default::default()
    })
    .await;
    let mut dice = Dice::new();
    let start = local(2026, 11, 23, 8, 47);
    let mut now = start;
    at(&app, now);
    let mut t = Tokens::take(&app).await;
    let mut folds = 0;
    let mut done: std::collections::BTreeMap<&str, u32> = Default::default();
    // First every kind of change once, in order, so that whatever the dice
    // do next, each part of the aggregates has moved.
    let mut cases = scripted(&app, &t).await.to_vec();
    assert_consistent(&app, &mut dice, start, now);

    for step in 0..160 {
        let choice = if cases.is_empty() { 0 } else { dice.below(14) };
        let case = (!cases.is_empty()).then(|| dice.pick(&cases).clone());
        match (choice, &case) {
            (0 | 1, _) => {
                let mut body = routed_body();
                match dice.below(3) {
                    0 => {}
                    1 => body["subject_unit"] = json!(*dice.pick(&UNITS)),
                    _ => {
                        body.as_object_mut().unwrap().remove("subject_unit");
                    }
                }
                let filed = file(&app, &body).await;
                cases.push(filed);
                done.entry("file").and_modify(|n| *n += 1).or_insert(1);
                continue;
            }
            (2, _) => {
                now += Duration::minutes(1 + dice.below(900) as i64);
                at(&app, now);
                t = Tokens::take(&app).await;
                continue;
            }
            (3, _) => {
                let n = tallies::fold(&mut app.conn()).unwrap();
                folds += usize::from(n > 0);
                continue;
            }
            (4, _) => {
                sweep(&app).await;
                done.entry("sweep").and_modify(|n| *n += 1).or_insert(1);
                continue;
            }
            (_, Some((no, code))) => {
                let c = app.case(no, &t.sup).await;
                let unit = c["responsible_unit"]["code"].as_str().unwrap_or("");
                let unit_token = t.unit(unit).map(str::to_owned);
                // Mostly what the case's state calls for, so sequences go
                // deep; otherwise anything (refused actions change nothing).
                let fits: &[u64] = match c["status"].as_str().unwrap_or("") {
                    _ if c["return_requested"] == true => &[9],
                    "received" => &[10],
                    "assigned" => &[5, 5, 8, 12],
                    "in_progress" => &[6, 6, 12],
                    "reported" => &[7],
                    "closed" => &[11, 11, 13],
                    _ => &[],
                };
                let choice = if !fits.is_empty() && dice.below(10) < 7 {
                    *dice.pick(fits)
                } else {
                    choice
                };
                let (action, resp) = match (choice, unit_token) {
                    (5, Some(u)) => (
                        "acknowledge",
                        act(&app, no, "acknowledge", json!({}), &u).await,
                    ),
                    (6, Some(u)) => ("report", act(&app, no, "report", report(), &u).await),
                    (7, _) => {
                        let decision = if dice.below(2) == 0 {
                            json!({"decision": "accept"})
                        } else {
                            json!({"decision": "redo", "comment": "未说明处理结果"})
                        };
                        ("review", act(&app, no, "review", decision, &t.sup).await)
                    }
                    (8, Some(u)) => (
                        "return",
                        act(
                            &app,
                            no,
                            "return",
                            json!({"reason": "不属于本单位职责"}),
                            &u,
                        )
                        .await,
                    ),
                    (9, _) => {
                        let d = *dice.pick(&["approve", "deny"]);
                        (
                            "return/decision",
                            act(&app, no, "return/decision", json!({"decision": d}), &t.sup).await,
                        )
                    }
                    (10, _) => {
                        let u = *dice.pick(&UNITS);
                        (
                            "assign",
                            act(&app, no, "assign", json!({"unit": u}), &t.sup).await,
                        )
                    }
                    (11, _) => {
                        let s = *dice.pick(&["satisfied", "basically_satisfied", "unsatisfied"]);
                        let body =
                            json!({"tracking_no": no, "query_code": code, "satisfaction": s});
                        (
                            "feedback",
                            app.post_json("/api/v1/track/feedback", &body, None).await,
                        )
                    }
                    (12, _) => {
                        let d = *dice.pick(&["follow_up", "status_inquiry", "follow_up"]);
                        let body = call_about(no, d, now);
                        (
                            "call",
                            app.post_json("/api/v1/calls", &body, Some(&t.op)).await,
                        )
                    }
                    (13, _) => (
                        "reopen",
                        act(
                            &app,
                            no,
                            "reopen",
                            json!({"reason": "群众不满意，要求重新核查"}),
                            &t.sup,
                        )
                        .await,
                    ),
                    _ => continue,
                };
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                // An action the case's state does not allow is refused and
                // changes nothing; anything else must succeed.
                assert!(
                    status < 300 || status == 409 || status == 422,
                    "step {step}: {action} on {no}: {status} {text}"
                );
                if status < 300 {
                    done.entry(action).and_modify(|n| *n += 1).or_insert(1);
                }
            }
            _ => continue,
        }
        if step % 40 == 39 {
            assert_consistent(&app, &mut dice, start, now);
        }
    }
    println!("actions done: {done:?}, folds: {folds}");
    assert_consistent(&app, &mut dice, start, now);
    tallies::fold_all(&mut app.conn()).unwrap();
    assert_eq!(tallies::pending(&mut app.conn()).unwrap(), 0);
    assert_consistent(&app, &mut dice, start, now);

    // What the API serves equals the same reads counted afresh.
    let sup = app.token_for(Role::Supervisor, None).await;
    let actor = duban::auth::Actor {
        user_id: 1,
        role: Role::Supervisor,
        unit_code: None,
    };
    let s = &app.state.settings.ranking;
    let rules = duban::domain::ranking::RankingRules {
        base_centipoints: (s.base_score * 100.0).round() as i64,
        min_cases: s.min_cases,
    };
    let tz = app.state.intake.tz;
    let mut served = get_json(&app, "/api/v1/ranking?year=2026", &sup).await;
    let recount = duban::domain::ranking::ranking(
        &mut app.conn(),
        &actor,
        rules,
        tz,
        2026,
        now,
        Source::Recount,
    )
    .unwrap();
    let mut recount = serde_json::to_value(recount).unwrap();
    for r in [&mut served, &mut recount] {
        r.as_object_mut().unwrap().remove("generated_at");
    }
    assert_eq!(served, recount);
    assert!(
        served["units"][0]["cases"].as_i64().unwrap() > 0,
        "{served:#}"
    );
    let stats = get_json(&app, "/api/v1/stats?from=2026-11-01&to=2026-12-31", &sup).await;
    let (from, to) = (
        duban::db::to_db(local(2026, 11, 1, 0, 0)),
        duban::db::to_db(local(2027, 1, 1, 0, 0)),
    );
    let recount =
        duban::domain::ranking::stats(&mut app.conn(), &actor, from, to, Source::Recount).unwrap();
    assert_eq!(stats, serde_json::to_value(recount).unwrap());
    assert_eq!(
        stats["summary"]["complaints_received"].as_u64().unwrap(),
        cases.len() as u64
    );

    // A rebuild from the source rows lands on the same buckets.
    let ranking_sums = || {
        tallies::sums(
            &mut app.conn(),
            Family::Ranking,
            Source::Aggregates,
            duban::db::to_db(start - Duration::days(1)),
            duban::db::to_db(now + Duration::days(1)),
        )
        .unwrap()
    };
    let before = ranking_sums();
    tallies::rebuild(&mut app.conn()).unwrap();
    assert!(tallies::check(&mut app.conn()).unwrap().is_empty());
    assert_eq!(before, ranking_sums());
}
