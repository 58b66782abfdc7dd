//! One log over the audit trail (docs/architecture.md, "The audit log"):
//! the sequencer gives every audit event, score event and letter its place
//! and MAC, keeps the Merkle tree's right edge, and signs checkpoints; the
//! verifier walks the log again and says what broke.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::AuditSettings;
use crate::db::audit::Part;
use crate::db::audit_log::{
    self as rows, CaseState, LogTable, LoggedEvent, LoggedLetter, LoggedScore, TreeRow,
};
use crate::db::{self, DbConn};
use crate::domain::merkle::{self, AuditKeys, Canonical, Frontier, TreeHead};
use crate::error::{AppError, AppResult, Code};

/// Entries sequenced per transaction: small enough that the write lock is
/// held for a few milliseconds, so intake does not wait behind it.
const BATCH: i64 = 250;
/// Rows read per page when verifying.
const PAGE: i64 = 5000;
pub use crate::domain::audit::MAX_FINDINGS;

fn event_bytes(seq: i64, e: &LoggedEvent, digest: Option<&str>) -> Canonical {
    let ev = &e.event;
    let mut c = Canonical::new("audit_event");
    c.int(seq)
        .int(ev.id)
        .text(&ev.chain)
        .int(ev.seq)
        .opt_int(ev.complaint_id)
        .opt_int(ev.actor_id)
        .text(&ev.actor_role)
        .text(&ev.action)
        .text(&ev.summary)
        .opt_text(ev.public_note.as_deref())
        .opt_text(ev.unit_note.as_deref())
        .time(ev.created_at)
        .text(&ev.prev_hash)
        .text(&ev.hash)
        .opt_text(digest);
    c
}

fn score_bytes(seq: i64, s: &LoggedScore) -> Canonical {
    let s = &s.score;
    let mut c = Canonical::new("score_event");
    c.int(seq)
        .int(s.id)
        .text(&s.unit_code)
        .int(s.year.into())
        .int(s.centipoints.into())
        .text(&s.kind)
        .opt_int(s.accountability_id)
        .opt_int(s.complaint_id)
        .text(&s.note)
        .opt_int(s.created_by)
        .time(s.created_at);
    c
}

fn letter_bytes(seq: i64, l: &LoggedLetter) -> Canonical {
    let l = &l.letter;
    let mut c = Canonical::new("letter");
    c.int(seq)
        .int(l.id)
        .text(&l.kind)
        .int(l.year.into())
        .int(l.seq)
        .text(&l.number)
        .opt_int(l.complaint_id)
        .text(&l.unit_code)
        .text(&l.recipient)
        .text(&l.subject)
        .text(&l.body)
        .time(l.created_at);
    c
}

/// The digest of a case's state: what a row edited without an entry changes.
pub fn case_digest(s: &CaseState) -> String {
    let mut c = Canonical::new("case_state");
    c.int(s.id)
        .text(&s.status)
        .opt_text(s.responsible_unit_code.as_deref())
        .opt_time(s.ack_due_at)
        .opt_time(s.due_at)
        .opt_time(s.acknowledged_at);
    for flag in [
        s.return_requested,
        s.delivery_failed,
        s.needs_confirmation,
        s.extension_requested,
        s.note_awaiting_approval,
    ] {
        c.text(if flag { "1" } else { "0" });
    }
    c.opt_text(s.duplicate_of.as_deref())
        .opt_text(s.public_reply.as_deref());
    c.digest()
}

/// One entry of the log, from whichever table holds it.
enum Item {
    Event(LoggedEvent),
    Score(LoggedScore),
    Letter(LoggedLetter),
}

impl Item {
    fn at(&self) -> (chrono::NaiveDateTime, u8, i64) {
        let (at, id) = match self {
            Item::Event(e) => (e.event.created_at, e.event.id),
            Item::Score(s) => (s.score.created_at, s.score.id),
            Item::Letter(l) => (l.letter.created_at, l.letter.id),
        };
        (at, self.log_table() as u8, id)
    }

    fn log_table(&self) -> LogTable {
        match self {
            Item::Event(_) => LogTable::AuditEvents,
            Item::Score(_) => LogTable::ScoreEvents,
            Item::Letter(_) => LogTable::Letters,
        }
    }

    fn position(&self) -> Option<i64> {
        match self {
            Item::Event(e) => e.log_seq,
            Item::Score(s) => s.log_seq,
            Item::Letter(l) => l.log_seq,
        }
    }

    fn mac(&self) -> Option<&str> {
        match self {
            Item::Event(e) => e.log_mac.as_deref(),
            Item::Score(s) => s.log_mac.as_deref(),
            Item::Letter(l) => l.log_mac.as_deref(),
        }
    }

    fn bytes(&self, seq: i64) -> Canonical {
        match self {
            Item::Event(e) => event_bytes(seq, e, e.record_digest.as_deref()),
            Item::Score(s) => score_bytes(seq, s),
            Item::Letter(l) => letter_bytes(seq, l),
        }
    }

    fn row_id(&self) -> i64 {
        self.at().2
    }

    fn chain(&self) -> Option<String> {
        match self {
            Item::Event(e) => Some(format!("{} #{}", e.event.chain, e.event.seq)),
            _ => None,
        }
    }

    /// A finding about this entry, found at position `pos` of the log.
    fn finding(&self, pos: i64, kind: &'static str, message: String) -> Finding {
        let mut f = Finding::new(kind, message);
        f.position = Some(pos);
        f.table = Some(self.log_table().name());
        f.row_id = Some(self.row_id());
        f.chain = self.chain();
        f
    }

    /// The finding for an entry that no longer matches its MAC.
    fn altered(&self, pos: i64) -> Finding {
        self.finding(
            pos,
            "entry_altered",
            format!("日志第{pos}位的记录与其校验码不符：记录被改动"),
        )
    }
}

/// The stored tree head, checked against its MAC; an empty tree when none
/// is stored yet.
fn stored_tree(conn: &mut DbConn, keys: &AuditKeys) -> AppResult<Frontier> {
    let Some(t) = rows::tree(conn)? else {
        return Ok(Frontier::default());
    };
    let sealed = head_sealed(keys, &t);
    let frontier = u64::try_from(t.size)
        .ok()
        .and_then(|size| Frontier::decode(size, &t.frontier))
        .filter(|f| merkle::hex(&f.root()) == t.root_hash);
    match frontier {
        Some(f) if sealed => Ok(f),
        _ => Err(AppError::Internal(anyhow::anyhow!(
            "the audit log's stored tree head fails its MAC (edited in the database, or \
             another DUBAN_AUDIT_SIGNING_KEY): nothing is added to the log until \
             `duban audit verify` has been read and the head restored"
        ))),
    }
}

/// Whether the stored head still carries its MAC (compared in constant time).
fn head_sealed(keys: &AuditKeys, t: &TreeRow) -> bool {
    keys.mac_matches(
        merkle::tree_state(t.size, &t.root_hash, &t.frontier).as_bytes(),
        &t.mac,
    )
}

fn save_tree(
    conn: &mut DbConn,
    keys: &AuditKeys,
    f: &Frontier,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let size = i64::try_from(f.size()).expect("fewer than 2^63 entries");
    let root = merkle::hex(&f.root());
    let frontier = f.encode();
    let mac = merkle::hex(&keys.mac(merkle::tree_state(size, &root, &frontier).as_bytes()));
    rows::save_tree(
        conn,
        &TreeRow {
            size,
            root_hash: root,
            frontier,
            mac,
            updated_at: db::to_db(now),
        },
    )?;
    Ok(())
}

/// What a sequencer run did.
#[derive(Debug, Default, Serialize)]
pub struct Sequenced {
    pub added: u64,
    pub tree_size: i64,
}

/// Gives every entry not in the log yet its place, in batches of
/// [`BATCH`], each its own transaction (an entry is placed once: the log's
/// lock and the stored head make a second sequencer wait and go on from it).
pub fn sequence(conn: &mut DbConn, keys: &AuditKeys, now: DateTime<Utc>) -> AppResult<Sequenced> {
    let mut out = Sequenced::default();
    loop {
        let (added, size) = db::write_tx(conn, |c| sequence_batch(c, keys, now))?;
        out.added += added;
        out.tree_size = size;
        if added < BATCH as u64 {
            return Ok(out);
        }
    }
}

fn sequence_batch(
    conn: &mut DbConn,
    keys: &AuditKeys,
    now: DateTime<Utc>,
) -> AppResult<(u64, i64)> {
    rows::lock_log(conn)?;
    let mut tree = stored_tree(conn, keys)?;
    let (events, scores, letters) = rows::unsequenced(conn, BATCH)?;
    let mut items: Vec<Item> = events
        .into_iter()
        .map(Item::Event)
        .chain(scores.into_iter().map(Item::Score))
        .chain(letters.into_iter().map(Item::Letter))
        .collect();
    items.sort_by_key(Item::at);
    items.truncate(BATCH as usize);
    // The last entry of each case in the batch carries the case's state.
    let mut last_of_case = std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Item::Event(e) = item
            && let Some(c) = e.event.complaint_id
        {
            last_of_case.insert(c, i);
        }
    }
    let ids: Vec<i64> = last_of_case.keys().copied().collect();
    let mut digests = std::collections::HashMap::new();
    for chunk in ids.chunks(1000) {
        for s in rows::case_states(conn, chunk)? {
            digests.insert(s.id, case_digest(&s));
        }
    }
    let mut placed: [Vec<rows::Placement>; 3] = Default::default();
    for (i, item) in items.iter().enumerate() {
        let seq = i64::try_from(tree.size()).expect("fewer than 2^63 entries") + 1;
        let (digest, bytes) = match item {
            Item::Event(e) => {
                let digest = e
                    .event
                    .complaint_id
                    .filter(|c| last_of_case.get(c) == Some(&i))
                    .and_then(|c| digests.get(&c).cloned());
                let bytes = event_bytes(seq, e, digest.as_deref());
                (digest, bytes)
            }
            Item::Score(s) => (None, score_bytes(seq, s)),
            Item::Letter(l) => (None, letter_bytes(seq, l)),
        };
        let mac = keys.mac(bytes.as_bytes());
        tree.push(merkle::leaf_hash(bytes.as_bytes(), &mac));
        placed[item.log_table() as usize].push(rows::Placement {
            id: item.row_id(),
            seq,
            mac: merkle::hex(&mac),
            digest,
        });
    }
    for table in LogTable::ALL {
        rows::place_many(conn, table, &placed[table as usize])?;
    }
    if !items.is_empty() {
        save_tree(conn, keys, &tree, now)?;
    }
    let size = i64::try_from(tree.size()).expect("fewer than 2^63 entries");
    Ok((items.len() as u64, size))
}

/// Where checkpoints are sent besides the database.
#[derive(Clone, Debug, Default)]
pub struct CheckpointOut {
    pub email: Option<String>,
    pub file: Option<PathBuf>,
    /// The domain of the e-mails' Message-IDs.
    pub message_domain: String,
}

impl CheckpointOut {
    pub fn from_settings(s: &AuditSettings, message_domain: &str) -> Self {
        Self {
            email: Some(s.checkpoint_email.clone()).filter(|e| !e.is_empty()),
            file: Some(PathBuf::from(&s.checkpoint_file)).filter(|p| !p.as_os_str().is_empty()),
            message_domain: message_domain.to_owned(),
        }
    }
}

/// A signed checkpoint as auditors keep it: one JSON line of the file, the
/// e-mail and `GET /audit/checkpoints`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Its number in this database (absent in a copy that never had one).
    #[serde(default)]
    pub id: Option<i64>,
    /// Entries in the log when it was signed.
    pub tree_size: i64,
    /// The RFC 9162 tree hash of those entries, hex.
    pub root_hash: String,
    pub signed_at: DateTime<Utc>,
    /// The signing key's name: the first 8 bytes of its public key's SHA-256, hex.
    pub key_id: String,
    /// Ed25519 over the note "duban audit checkpoint v1\n<size>\n<root>\n<time>\n", base64.
    pub signature: String,
}

impl Checkpoint {
    /// What the signature covers.
    pub fn head(&self) -> TreeHead {
        TreeHead {
            tree_size: self.tree_size,
            root_hash: self.root_hash.clone(),
            signed_at: self.signed_at,
        }
    }
}

impl From<rows::CheckpointRow> for Checkpoint {
    fn from(r: rows::CheckpointRow) -> Self {
        Self {
            id: Some(r.id),
            tree_size: r.tree_size,
            root_hash: r.root_hash,
            signed_at: db::from_db(r.signed_at),
            key_id: r.key_id,
            signature: r.signature,
        }
    }
}

/// Signs the log's head now (after sequencing what is waiting). With
/// `due_after`, only when the last checkpoint is older than that and the
/// log has grown since (the background job); `None` signs in any case.
pub fn checkpoint(
    conn: &mut DbConn,
    keys: &AuditKeys,
    out: &CheckpointOut,
    now: DateTime<Utc>,
    due_after: Option<chrono::Duration>,
) -> AppResult<Option<Checkpoint>> {
    sequence(conn, keys, now)?;
    let made = db::write_tx(conn, |c| -> AppResult<Option<Checkpoint>> {
        rows::lock_log(c)?;
        let tree = stored_tree(c, keys)?;
        let size = i64::try_from(tree.size()).expect("fewer than 2^63 entries");
        if due_after.is_some() && size == 0 {
            return Ok(None);
        }
        if let Some(every) = due_after
            && let Some(last) = rows::latest_checkpoint(c)?
            && (last.tree_size == size || db::from_db(last.signed_at) + every > now)
        {
            return Ok(None);
        }
        let head = TreeHead {
            tree_size: size,
            root_hash: merkle::hex(&tree.root()),
            signed_at: db::from_db(db::to_db(now)),
        };
        let signature = keys.sign(&head);
        let row = rows::insert_checkpoint(
            c,
            size,
            &head.root_hash,
            db::to_db(now),
            keys.key_id(),
            &signature,
        )?;
        let cp = Checkpoint::from(row);
        if let Some(to) = &out.email {
            queue_checkpoint_mail(c, keys, out, to, &cp, now)?;
        }
        Ok(Some(cp))
    })?;
    if let (Some(cp), Some(path)) = (&made, &out.file) {
        append_line(path, cp).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "checkpoint {} stored but not appended to {}: {e}",
                cp.id.unwrap_or_default(),
                path.display()
            ))
        })?;
    }
    if made.is_some() {
        metrics::counter!("duban_audit_checkpoints_total").increment(1);
    }
    Ok(made)
}

fn queue_checkpoint_mail(
    conn: &mut DbConn,
    keys: &AuditKeys,
    out: &CheckpointOut,
    to: &str,
    cp: &Checkpoint,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let id = cp.id.unwrap_or_default();
    let subject = format!("审计日志检查点 第{id}号（{}条记录）", cp.tree_size);
    let line = serde_json::to_string(cp).map_err(|e| AppError::Internal(e.into()))?;
    let body = format!(
        "督办系统审计日志检查点\n\n\
         编号：{id}\n记录条数：{size}\n根哈希：{root}\n签名时间（UTC）：{at}\n签名公钥编号：{key}\n签名公钥：{public}\n\n\
         请将下面一行原样保存在数据库管理员无法修改的地方（如审计部门的邮箱或存档）。\n\
         核验时交给 `duban audit verify --checkpoints 文件` 或 POST /api/v1/audit/verify：\n\n{line}\n",
        size = cp.tree_size,
        root = cp.root_hash,
        at = cp.signed_at.to_rfc3339(),
        key = cp.key_id,
        public = keys.public_key_b64(),
    );
    let now_db = db::to_db(now);
    let message_id = format!("<audit.checkpoint.{id}@{}>", out.message_domain);
    db::letters::enqueue(
        conn,
        &db::letters::NewOutbox {
            letter_id: None,
            complaint_id: None,
            recipient: to,
            cc: None,
            subject: &subject,
            body: &body,
            message_id: &message_id,
            status: "pending",
            attempts: 0,
            next_attempt_at: now_db,
            created_at: now_db,
            notice_id: None,
        },
    )?;
    Ok(())
}

fn append_line(path: &std::path::Path, cp: &Checkpoint) -> std::io::Result<()> {
    let line = serde_json::to_string(cp).map_err(std::io::Error::other)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_all()
}

/// Reads checkpoints kept outside, one JSON object per line (blank lines and
/// lines starting with `#` skipped); names the first line that is not one.
pub fn read_checkpoint_lines(text: &str) -> Result<Vec<Checkpoint>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| serde_json::from_str(l.trim()).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// One thing verification found.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// `entry_altered`, `entries_missing`, `entry_duplicated`,
    /// `entries_removed`, `entries_unknown`, `checkpoint_mismatch`,
    /// `signature_invalid`, `tree_head_invalid`, `tree_head_mismatch`,
    /// `record_changed`, `record_without_entry`, `chain_broken`.
    pub kind: &'static str,
    /// What it means, in Chinese.
    pub message: String,
    /// The position in the log, when the finding is about one.
    pub position: Option<i64>,
    pub table: Option<&'static str>,
    pub row_id: Option<i64>,
    /// The chain and its sequence number, for audit events.
    pub chain: Option<String>,
    pub checkpoint_id: Option<i64>,
}

impl Finding {
    fn new(kind: &'static str, message: String) -> Self {
        Self {
            kind,
            message,
            position: None,
            table: None,
            row_id: None,
            chain: None,
            checkpoint_id: None,
        }
    }
}

/// What `verify` found in the log, with the first [`MAX_FINDINGS`] findings.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct LogReport {
    /// Entries walked in the log.
    pub entries: i64,
    /// The recomputed tree's root, hex.
    pub root_hash: String,
    /// The size the stored (MAC-sealed) tree head states.
    pub tree_head_size: Option<i64>,
    /// Rows not yet placed in the log (written after the last sequencing).
    pub unsequenced: i64,
    pub checkpoints_checked: u64,
    pub outside_checkpoints_checked: u64,
    pub records_checked: u64,
    pub findings: Vec<Finding>,
    pub findings_total: u64,
}

impl LogReport {
    fn find(&mut self, f: Finding) {
        self.findings_total += 1;
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(f);
        }
    }
}

/// A checkpoint to hold the log against, stored or given from outside.
struct Expect {
    head: TreeHead,
    id: Option<i64>,
    outside: bool,
}

/// `GET /audit/verify`: the chains and the log, on one snapshot.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditReport {
    /// Nothing found, in the chains or the log.
    pub ok: bool,
    /// What was verified: everything, or a part.
    pub scope: Scope,
    /// Per-case chains (and `admin`) walked, and their events.
    pub chains: u64,
    pub events: u64,
    pub first_broken: Option<crate::domain::audit::BrokenLink>,
    /// The first broken link of each broken chain (the first 100).
    pub broken: Vec<crate::domain::audit::BrokenLink>,
    pub broken_total: u64,
    #[serde(flatten)]
    pub log: LogReport,
}

/// What a verification covered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Scope {
    /// Everything: every chain, the whole log, its tree, every checkpoint
    /// and every case. A part checks its chains' links, its entries' MACs
    /// and (for a case chain) the case's state; the tree, the checkpoints
    /// and the completeness of the log need the whole log.
    pub whole: bool,
    pub chain: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Scope {
    fn of(part: &Part) -> Self {
        Self {
            whole: part.is_whole(),
            chain: part.chain.clone(),
            from: part.from.map(db::from_db),
            to: part.to.map(db::from_db),
        }
    }
}

/// How far a verification has come: `done` of about `total` in `stage`
/// (`chains`: events; `log`: entries; `cases`: cases).
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
}

/// Places what waits in the log, unless the stored head fails its MAC
/// (which stops the sequencer; the report names it).
fn sequence_first(conn: &mut DbConn, keys: &AuditKeys, now: DateTime<Utc>) -> AppResult<()> {
    let head_sound = db::read_snapshot(conn, |c| Ok::<_, AppError>(stored_tree(c, keys).is_ok()))?;
    if head_sound {
        sequence(conn, keys, now)?;
    }
    Ok(())
}

/// The chains' broken links as findings of the report.
fn report_of(
    scope: Scope,
    chains: crate::domain::audit::VerifyReport,
    mut log: LogReport,
) -> AuditReport {
    for b in &chains.broken {
        let mut f = Finding::new(
            "chain_broken",
            format!("链{}第{}条断开：{}", b.chain, b.seq, b.problem),
        );
        f.table = Some("audit_events");
        f.row_id = Some(b.event_id);
        f.chain = Some(format!("{} #{}", b.chain, b.seq));
        log.find(f);
    }
    // Chains past the first 100 are counted, not listed.
    log.findings_total += chains.broken_total - chains.broken.len() as u64;
    AuditReport {
        ok: log.findings_total == 0,
        scope,
        chains: chains.chains,
        events: chains.events,
        first_broken: chains.first_broken,
        broken: chains.broken,
        broken_total: chains.broken_total,
        log,
    }
}

/// Sequences what waits, then verifies the chains and the log together.
/// `progress` hears how far it has come after every page.
pub fn verify_all(
    conn: &mut DbConn,
    keys: &AuditKeys,
    outside: &[Checkpoint],
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(Progress),
) -> AppResult<AuditReport> {
    sequence_first(conn, keys, now)?;
    db::read_snapshot(conn, |c| -> AppResult<AuditReport> {
        let (events, entries, cases) = rows::sizes(c)?;
        let chains = crate::domain::audit::verify(c, &Part::default(), &mut |done| {
            progress(Progress {
                stage: "chains",
                done,
                total: events,
            })
        })?;
        let log = verify_in(c, keys, outside, &mut |stage, done| {
            let total = if stage == "log" { entries } else { cases };
            progress(Progress { stage, done, total })
        })?;
        Ok(report_of(Scope::of(&Part::default()), chains, log))
    })
}

/// The part `GET /audit/verify?chain=&from=&to=` asks for. A chain is
/// named `admin`, `case:<tracking no>`, or by the tracking number alone; a
/// chain that does not exist is a bad field, not an empty success.
pub fn part_of(
    conn: &mut DbConn,
    chain: Option<&str>,
    from: Option<chrono::NaiveDateTime>,
    to: Option<chrono::NaiveDateTime>,
) -> AppResult<Part> {
    let mut part = Part {
        from,
        to,
        ..Part::default()
    };
    if let Some(text) = chain.map(str::trim) {
        let name = if text == "admin" || text.starts_with("case:") {
            text.to_owned()
        } else {
            format!("case:{}", db::complaints::normalise_tracking_no(text))
        };
        if !db::audit::chain_exists(conn, &name)? {
            return Err(AppError::field_with(
                "chain",
                Code::NotACase,
                "no such chain: give admin, case:<tracking no> or a tracking number",
            ));
        }
        if let Some(no) = name.strip_prefix("case:") {
            part.complaint_id = db::complaints::by_tracking_no(conn, no)?.map(|c| c.id);
        }
        part.chain = Some(name);
    }
    Ok(part)
}

/// Verifies a part of the trail ([`Part`]): the links of its events (the
/// first of each chain against the event before it), the MAC of each of
/// its entries in the log, and for a case chain the case's state against
/// its latest entry. Reads only the part, from the indexes by chain and
/// by time.
pub fn verify_part(
    conn: &mut DbConn,
    keys: &AuditKeys,
    part: &Part,
    now: DateTime<Utc>,
) -> AppResult<AuditReport> {
    sequence_first(conn, keys, now)?;
    db::read_snapshot(conn, |c| -> AppResult<AuditReport> {
        let chains = crate::domain::audit::verify(c, part, &mut |_| {})?;
        let mut log = LogReport::default();
        let mut after = (0i64, 0i64, 0i64);
        loop {
            let (events, scores, letters) = rows::part_page(c, part, after, PAGE)?;
            let full = [events.len(), scores.len(), letters.len()]
                .iter()
                .any(|n| *n as i64 == PAGE);
            after.0 = events.last().map_or(after.0, |e| e.event.id);
            after.1 = scores.last().map_or(after.1, |s| s.score.id);
            after.2 = letters.last().map_or(after.2, |l| l.letter.id);
            let items = events
                .into_iter()
                .map(Item::Event)
                .chain(scores.into_iter().map(Item::Score))
                .chain(letters.into_iter().map(Item::Letter));
            for item in items {
                let Some(pos) = item.position() else {
                    log.unsequenced += 1;
                    continue;
                };
                log.entries += 1;
                let mac = item.mac().unwrap_or_default();
                if !keys.mac_matches(item.bytes(pos).as_bytes(), mac) {
                    log.find(item.altered(pos));
                }
            }
            if !full {
                break;
            }
        }
        if let Some(id) = part.complaint_id {
            check_cases_in(c, id - 1, Some(id), &mut log, &mut |_, _| {})?;
        }
        Ok(report_of(Scope::of(part), chains, log))
    })
}

/// Walks the whole log (on the caller's snapshot, after [`sequence`]): every
/// entry's MAC, the positions without gap or double, the tree's root at
/// every checkpoint's size (stored and `outside`) and at the stored head's,
/// every signature, and every case's state against its latest digest.
/// Memory stays bounded: pages of rows, the tree's right edge, the
/// checkpoints (about one an hour), at most [`MAX_FINDINGS`] findings.
fn verify_in(
    conn: &mut DbConn,
    keys: &AuditKeys,
    outside: &[Checkpoint],
    progress: &mut dyn FnMut(&'static str, u64),
) -> AppResult<LogReport> {
    let mut report = LogReport {
        unsequenced: rows::count_unsequenced(conn)?,
        ..LogReport::default()
    };
    let mut expected: Vec<Expect> = Vec::new();
    for (cp, is_outside) in rows::checkpoints_by_size(conn)?
        .into_iter()
        .map(|r| (Checkpoint::from(r), false))
        .chain(outside.iter().cloned().map(|c| (c, true)))
    {
        if is_outside {
            report.outside_checkpoints_checked += 1;
        } else {
            report.checkpoints_checked += 1;
        }
        if cp.key_id != keys.key_id() || !keys.signature_valid(&cp.head(), &cp.signature) {
            let mut f = Finding::new(
                "signature_invalid",
                format!(
                    "{}检查点（{}条记录）的签名无效：检查点被改动，或不是本系统的签名密钥所签",
                    if is_outside {
                        "外部保存的"
                    } else {
                        "数据库中的"
                    },
                    cp.tree_size
                ),
            );
            f.checkpoint_id = cp.id;
            report.find(f);
            continue;
        }
        expected.push(Expect {
            head: cp.head(),
            id: cp.id,
            outside: is_outside,
        });
    }
    let head = rows::tree(conn)?;
    if let Some(t) = &head {
        report.tree_head_size = Some(t.size);
        if !head_sealed(keys, t) {
            report.find(Finding::new(
                "tree_head_invalid",
                "数据库中的日志树头与其校验码不符：树头被改动".into(),
            ));
        }
    }
    expected.sort_by_key(|e| e.head.tree_size);
    walk_log(conn, keys, &expected, head.as_ref(), &mut report, progress)?;
    check_cases_in(conn, 0, None, &mut report, progress)?;
    Ok(report)
}

fn walk_log(
    conn: &mut DbConn,
    keys: &AuditKeys,
    expected: &[Expect],
    head: Option<&TreeRow>,
    report: &mut LogReport,
    progress: &mut dyn FnMut(&'static str, u64),
) -> AppResult<()> {
    let mut tree = Frontier::default();
    let mut next = expected.iter().peekable();
    let mut cursors = (0i64, 0i64, 0i64);
    let mut last_position = 0i64;
    // Compares the tree with every checkpoint (and the head) of its size.
    let check_at = |tree: &Frontier,
                    next: &mut std::iter::Peekable<std::slice::Iter<'_, Expect>>,
                    report: &mut LogReport| {
        let size = tree.size() as i64;
        if head.is_some_and(|h| h.size == size && h.root_hash != merkle::hex(&tree.root())) {
            report.find(Finding::new(
                "tree_head_mismatch",
                format!("日志前{size}条记录的根哈希与数据库中的树头不符：记录被改写"),
            ));
        }
        while let Some(e) = next.next_if(|e| e.head.tree_size <= size) {
            if e.head.tree_size == size && e.head.root_hash != merkle::hex(&tree.root()) {
                let mut f = Finding::new(
                    "checkpoint_mismatch",
                    format!(
                        "日志前{size}条记录已不是{}检查点签名时的样子：其中有记录被改写、删除或调换",
                        if e.outside { "外部保存的" } else { "" }
                    ),
                );
                f.checkpoint_id = e.id;
                report.find(f);
            }
        }
    };
    check_at(&tree, &mut next, report);
    loop {
        let (events, scores, letters) = rows::page_from(conn, cursors, PAGE)?;
        if events.is_empty() && scores.is_empty() && letters.is_empty() {
            break;
        }
        // Up to the smallest of the three pages' last positions, all three
        // are complete: merge that far, and go on from there.
        let limit = [
            events.last().and_then(|e| e.log_seq),
            scores.last().and_then(|s| s.log_seq),
            letters.last().and_then(|l| l.log_seq),
        ];
        let full = |len: usize, last: Option<i64>| {
            if len as i64 == PAGE { last } else { None }
        };
        let bound = [
            full(events.len(), limit[0]),
            full(scores.len(), limit[1]),
            full(letters.len(), limit[2]),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(i64::MAX);
        let mut items: Vec<Item> = events
            .into_iter()
            .map(Item::Event)
            .chain(scores.into_iter().map(Item::Score))
            .chain(letters.into_iter().map(Item::Letter))
            .filter(|i| i.position().is_some_and(|p| p <= bound))
            .collect();
        items.sort_by_key(|i| (i.position(), i.at()));
        for item in &items {
            let pos = item.position().expect("filtered on a position");
            match item {
                Item::Event(_) => cursors.0 = pos,
                Item::Score(_) => cursors.1 = pos,
                Item::Letter(_) => cursors.2 = pos,
            }
            if pos <= last_position {
                report.find(item.finding(
                    pos,
                    "entry_duplicated",
                    format!("日志第{pos}位出现了不止一条记录：有记录被插入"),
                ));
                continue;
            }
            if pos > last_position + 1 {
                let (from, to) = (last_position + 1, pos - 1);
                report.find(item.finding(
                    pos,
                    "entries_missing",
                    format!("日志第{from}至{to}位的记录不见了：记录被删除"),
                ));
            }
            last_position = pos;
            let bytes = item.bytes(pos);
            let mac = item.mac().unwrap_or_default();
            if !keys.mac_matches(bytes.as_bytes(), mac) {
                report.find(item.altered(pos));
            }
            let mac = merkle::hash_from_hex(mac).unwrap_or([0u8; 32]);
            // A missing position still counts as a leaf, so that what
            // follows keeps its place in the tree.
            while (tree.size() as i64) < pos - 1 {
                tree.push([0u8; 32]);
                check_at(&tree, &mut next, report);
            }
            tree.push(merkle::leaf_hash(bytes.as_bytes(), &mac));
            check_at(&tree, &mut next, report);
        }
        report.entries = last_position;
        progress("log", last_position as u64);
        if bound == i64::MAX {
            break;
        }
    }
    let size = tree.size() as i64;
    report.root_hash = merkle::hex(&tree.root());
    for e in next {
        let mut f = Finding::new(
            "entries_removed",
            format!(
                "{}检查点签名时日志有{}条记录，现在只有{size}条：第{}条以后的记录被删除",
                if e.outside { "外部保存的" } else { "" },
                e.head.tree_size,
                size + 1
            ),
        );
        f.checkpoint_id = e.id;
        report.find(f);
    }
    if let Some(h) = head {
        if h.size > size {
            report.find(Finding::new(
                "entries_removed",
                format!(
                    "数据库中的树头记着{}条记录，日志现在只有{size}条：第{}条以后的记录被删除",
                    h.size,
                    size + 1
                ),
            ));
        } else if h.size < size {
            report.find(Finding::new(
                "entries_unknown",
                format!(
                    "日志有{size}条记录，树头只记着{}条：第{}条以后的记录不是本系统写入的",
                    h.size,
                    h.size + 1
                ),
            ));
        }
    } else if size > 0 {
        report.find(Finding::new(
            "tree_head_invalid",
            format!("日志有{size}条记录，数据库中却没有树头：树头被删除"),
        ));
    }
    Ok(())
}

/// Every case's state (with ids after `after`, up to `last`) against the
/// digest of its latest entry, page by page.
fn check_cases_in(
    conn: &mut DbConn,
    mut after: i64,
    last: Option<i64>,
    report: &mut LogReport,
    progress: &mut dyn FnMut(&'static str, u64),
) -> AppResult<()> {
    loop {
        let limit = last.map_or(PAGE, |l| (l - after).clamp(0, PAGE));
        let page = rows::case_states_page(conn, after, limit)?;
        let (Some(first), Some(end)) = (page.first(), page.last()) else {
            return Ok(());
        };
        let (from, to) = (first.id, end.id);
        after = to;
        let digests: std::collections::HashMap<i64, String> =
            rows::latest_digests(conn, from, to)?.into_iter().collect();
        let pending: std::collections::HashSet<i64> = rows::cases_with_unsequenced(conn, from, to)?
            .into_iter()
            .collect();
        for s in &page {
            if pending.contains(&s.id) {
                continue;
            }
            report.records_checked += 1;
            let mut f = match digests.get(&s.id) {
                Some(d) if *d == case_digest(s) => continue,
                Some(_) => Finding::new(
                    "record_changed",
                    "案件的状态、承办单位、期限、标记或公开答复与其最后一条日志记录不符：案件在日志之外被改动".into(),
                ),
                None => Finding::new(
                    "record_without_entry",
                    "案件在日志中没有任何记录：案件是在系统之外写入的".into(),
                ),
            };
            f.table = Some("complaints");
            f.row_id = Some(s.id);
            report.find(f);
        }
        progress("cases", report.records_checked);
    }
}
