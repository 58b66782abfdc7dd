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
    idempotency_keys,
    counters,
    throttle,
);
