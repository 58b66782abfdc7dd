//! Table definitions, kept by hand so both backends share one set of portable
//! types (`BigInt` ids, `Timestamp` in UTC, `Binary` for sealed fields).

diesel::table! {
    units (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        kind -> Text,
        parent_code -> Nullable<Text>,
        email -> Text,
        leader_name -> Text,
        leader_title -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    categories (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        aspect -> Text,
        statutory_workdays -> Integer,
        ack_workdays -> Integer,
        handle_workdays -> Integer,
        sort_order -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        unit_code -> Nullable<Text>,
        active -> Bool,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    complaints (id) {
        id -> BigInt,
        tracking_no -> Text,
        query_code_hash -> Text,
        channel -> Text,
        status -> Text,
        title -> Text,
        content -> Text,
        category_code -> Nullable<Text>,
        subject_unit_code -> Nullable<Text>,
        subject_person -> Nullable<Text>,
        township -> Nullable<Text>,
        occurred_on -> Nullable<Date>,
        anonymous -> Bool,
        responsible_unit_code -> Nullable<Text>,
        public_reply -> Nullable<Text>,
        received_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        ack_due_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        return_requested -> Bool,
        delivery_failed -> Bool,
        duplicate_of -> Nullable<Text>,
        screen_reason -> Nullable<Text>,
        satisfaction -> Nullable<Text>,
        needs_confirmation -> Bool,
        next_escalation_at -> Nullable<Timestamp>,
        calendar_provisional -> Bool,
        extension_requested -> Bool,
        hold_reason -> Nullable<Text>,
        note_awaiting_approval -> Bool,
        follow_ups -> Integer,
        possible_duplicate -> Bool,
        reopen_review -> Bool,
        callback_status -> Nullable<Text>,
        callback_due_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    complainants (complaint_id) {
        complaint_id -> BigInt,
        name_enc -> Nullable<Binary>,
        phone_enc -> Nullable<Binary>,
        email_enc -> Nullable<Binary>,
        id_number_enc -> Nullable<Binary>,
        address_enc -> Nullable<Binary>,
        phone_hash -> Nullable<Text>,
        location_enc -> Nullable<Binary>,
    }
}

diesel::table! {
    calls (id) {
        id -> BigInt,
        operator_id -> BigInt,
        caller_phone_enc -> Nullable<Binary>,
        caller_phone_hash -> Nullable<Text>,
        started_at -> Timestamp,
        duration_seconds -> Integer,
        summary -> Text,
        disposition -> Text,
        complaint_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        transferred_to -> Nullable<Text>,
        transferred_to_name -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        chain -> Text,
        seq -> BigInt,
        complaint_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        actor_role -> Text,
        action -> Text,
        summary -> Text,
        public_note -> Nullable<Text>,
        created_at -> Timestamp,
        prev_hash -> Text,
        hash -> Text,
        unit_note -> Nullable<Text>,
        log_seq -> Nullable<BigInt>,
        log_mac -> Nullable<Text>,
        record_digest -> Nullable<Text>,
    }
}

diesel::table! {
    audit_tree (id) {
        id -> Integer,
        size -> BigInt,
        root_hash -> Text,
        frontier -> Text,
        mac -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_checkpoints (id) {
        id -> BigInt,
        tree_size -> BigInt,
        root_hash -> Text,
        signed_at -> Timestamp,
        key_id -> Text,
        signature -> Text,
    }
}

diesel::table! {
    idempotency_keys (scope, idem_key) {
        scope -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status_code -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    throttle (key) {
        key -> Text,
        window_start -> Timestamp,
        failures -> Integer,
    }
}

diesel::table! {
    assignments (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        unit_code -> Text,
        assigned_at -> Timestamp,
        assigned_by -> Nullable<BigInt>,
        how -> Text,
        note -> Nullable<Text>,
        ack_workdays -> Integer,
        handle_workdays -> Integer,
        ack_due_at -> Timestamp,
        due_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        reported_at -> Nullable<Timestamp>,
        return_reason -> Nullable<Text>,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        return_due_at -> Nullable<Timestamp>,
        calendar_provisional -> Bool,
    }
}

diesel::table! {
    progress_notes (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        unit_code -> Text,
        author_id -> BigInt,
        content -> Text,
        public -> Bool,
        created_at -> Timestamp,
        publication -> Text,
        publication_decided_by -> Nullable<BigInt>,
        publication_decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    extension_requests (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        assignment_id -> BigInt,
        workdays -> Integer,
        reason -> Text,
        status -> Text,
        requested_by -> BigInt,
        requested_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Nullable<Text>,
        old_due_at -> Timestamp,
        new_due_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reports (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        assignment_id -> BigInt,
        findings -> Text,
        measures -> Text,
        responsible_person -> Text,
        rectification_deadline -> Date,
        target -> Text,
        public_reply -> Text,
        submitted_by -> BigInt,
        submitted_at -> Timestamp,
        review -> Nullable<Text>,
        review_comment -> Nullable<Text>,
        reviewed_by -> Nullable<BigInt>,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rectification_items (id) {
        id -> BigInt,
        report_id -> BigInt,
        content -> Text,
        responsible_person -> Text,
        deadline -> Date,
        target -> Text,
        status -> Text,
    }
}

diesel::table! {
    letters (id) {
        id -> BigInt,
        kind -> Text,
        year -> Integer,
        seq -> BigInt,
        number -> Text,
        complaint_id -> Nullable<BigInt>,
        unit_code -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        log_seq -> Nullable<BigInt>,
        log_mac -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        letter_id -> Nullable<BigInt>,
        complaint_id -> Nullable<BigInt>,
        recipient -> Text,
        cc -> Nullable<Text>,
        subject -> Text,
        body -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        notice_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    notices (id) {
        id -> BigInt,
        unit_code -> Text,
        complaint_id -> Nullable<BigInt>,
        kind -> Text,
        subject -> Text,
        body -> Text,
        message_id -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        read_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    feedback (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        source -> Text,
        satisfaction -> Text,
        comment -> Nullable<Text>,
        author_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    escalations (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        assignment_id -> BigInt,
        unit_code -> Text,
        clock -> Text,
        level -> Integer,
        deadline_at -> Timestamp,
        fired_at -> Timestamp,
        letter_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    accountability_cases (id) {
        id -> BigInt,
        unit_code -> Text,
        person -> Nullable<Text>,
        complaint_id -> Nullable<BigInt>,
        trigger -> Text,
        escalation_id -> Nullable<BigInt>,
        situation_code -> Nullable<Text>,
        reason -> Text,
        status -> Text,
        year -> Integer,
        provisional_centipoints -> Integer,
        opened_by -> Nullable<BigInt>,
        opened_at -> Timestamp,
        defence_due_at -> Timestamp,
        letter_id -> Nullable<BigInt>,
        defence -> Nullable<Text>,
        defence_by -> Nullable<BigInt>,
        defence_at -> Nullable<Timestamp>,
        decision -> Nullable<Text>,
        decision_centipoints -> Nullable<Integer>,
        decision_note -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        defence_waived_by -> Nullable<BigInt>,
        defence_waived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    score_events (id) {
        id -> BigInt,
        unit_code -> Text,
        year -> Integer,
        centipoints -> Integer,
        kind -> Text,
        accountability_id -> Nullable<BigInt>,
        complaint_id -> Nullable<BigInt>,
        note -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        log_seq -> Nullable<BigInt>,
        log_mac -> Nullable<Text>,
    }
}

diesel::table! {
    callback_attempts (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        call_id -> Nullable<BigInt>,
        operator_id -> BigInt,
        outcome -> Text,
        satisfaction -> Nullable<Text>,
        note -> Nullable<Text>,
        attempted_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    supplements (id) {
        id -> BigInt,
        complaint_id -> BigInt,
        source -> Text,
        call_id -> Nullable<BigInt>,
        merged_from -> Nullable<BigInt>,
        content -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    duplicate_candidates (complaint_id, candidate_id) {
        complaint_id -> BigInt,
        candidate_id -> BigInt,
        reason -> Text,
        similarity -> Integer,
        created_at -> Timestamp,
    }
}

diesel::joinable!(complainants -> complaints (complaint_id));
diesel::joinable!(calls -> complaints (complaint_id));
diesel::joinable!(calls -> users (operator_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    categories,
    users,
    complaints,
    complainants,
    calls,
    audit_events,
    audit_tree,
    audit_checkpoints,
    idempotency_keys,
    counters,
    throttle,
    assignments,
    progress_notes,
    extension_requests,
    reports,
    rectification_items,
    letters,
    outbox,
    feedback,
    escalations,
    accountability_cases,
    score_events,
    notices,
    callback_attempts,
    supplements,
    duplicate_candidates,
);
