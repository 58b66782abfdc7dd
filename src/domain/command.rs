//! The parse step every command goes through (docs/architecture.md,
//! *Commands*): a request body — JSON from the API, a form post from a page,
//! Open311's form fields — becomes one typed command, or a 422 naming every
//! bad field at once with its code.
//!
//! A command is declared once with [`command!`]: the struct derives
//! `Deserialize` and `ToSchema` (so the OpenAPI document is generated from
//! the type that is read), and the macro writes the reading, field by field,
//! so that one bad field does not hide the next. A field's type says what it
//! accepts ([`Text`], [`Lines`], [`Int`], [`Phone`], [`UnitCode`], a
//! [`choice!`] enum, a nested command, a list…); `Option<T>` is optional,
//! `T` required, `T = value` has a default. What depends on several fields
//! or on the time goes in the command's [`Check`].

use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::domain::validation;
use crate::error::{AppError, Code, FieldErrors};

/// Where the fields came from: JSON keeps its types; a form sends text only,
/// so numbers and switches are read from their text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Json,
    Form,
}

/// What checks need besides the fields.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    /// The earliest start a hotline call may be logged with.
    pub oldest_call: DateTime<Utc>,
    /// The situations an accountability case may cite.
    pub situations: &'a dyn Situations,
}

/// Which situation codes there are (the accountability catalogue).
pub trait Situations: Sync {
    fn knows(&self, code: &str) -> bool;
}

impl Context<'_> {
    /// The local date of `at`.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }
}

/// A code of reference data read from the request, checked against the
/// database only when the request is refused anyway (so the refusal names
/// it too); an accepted command is checked inside its write transaction.
#[derive(Clone, Debug)]
pub enum Reference {
    Unit { path: String, code: String },
    Category { path: String, code: String },
    Case { path: String, code: String },
}

/// A refused command: its field errors, and the references it named.
#[derive(Debug)]
pub struct Rejected {
    pub errors: FieldErrors,
    pub references: Vec<Reference>,
}

impl Rejected {
    /// The 422 with the unknown reference codes named as well.
    pub fn check_references(mut self, conn: &mut crate::db::DbConn) -> AppError {
        for r in &self.references {
            let known = match r {
                Reference::Unit { code, .. } => crate::db::units::exists_active(conn, code),
                Reference::Category { code, .. } => {
                    crate::db::categories::exists_active(conn, code)
                }
                Reference::Case { code, .. } => {
                    crate::db::complaints::by_tracking_no(conn, code).map(|c| c.is_some())
                }
            };
            match (known, r) {
                (Err(e), _) => return e.into(),
                (Ok(false), Reference::Unit { path, .. }) => {
                    self.errors.add(path.clone(), Code::NotAUnit)
                }
                (Ok(false), Reference::Category { path, .. }) => {
                    self.errors.add(path.clone(), Code::NotACategory)
                }
                (Ok(false), Reference::Case { path, .. }) => {
                    self.errors.add(path.clone(), Code::NotACase)
                }
                (Ok(true), _) => {}
            }
        }
        self.errors.into_error()
    }
}

impl From<Rejected> for AppError {
    fn from(r: Rejected) -> Self {
        r.errors.into_error()
    }
}

/// One parse: its source, context and what it found wrong so far.
pub struct Parse<'c> {
    source: Source,
    pub context: &'c Context<'c>,
    errors: FieldErrors,
    references: Vec<Reference>,
}

impl Parse<'_> {
    pub fn add(&mut self, path: impl Into<String>, code: Code) {
        self.errors.add(path, code);
    }
    pub fn add_with(&mut self, path: impl Into<String>, code: Code, message: impl Into<String>) {
        self.errors.add_with(path, code, message);
    }
    pub fn source(&self) -> Source {
        self.source
    }
}

/// Reads `body` as the command `C`, collecting every bad field.
pub fn parse<C: Fields>(
    body: &Value,
    source: Source,
    context: &Context<'_>,
) -> Result<C, Rejected> {
    let mut p = Parse {
        source,
        context,
        errors: FieldErrors::new(),
        references: Vec::new(),
    };
    let parsed = match body {
        Value::Object(obj) => C::read(obj, "", &mut p),
        _ => {
            p.add_with(
                "body",
                Code::WrongType {
                    expected: "an object",
                },
                "must be a JSON object",
            );
            None
        }
    };
    match parsed {
        Some(c) if p.errors.is_empty() => Ok(c),
        _ => Err(Rejected {
            errors: p.errors,
            references: p.references,
        }),
    }
}

/// A form post as the tree a JSON body would be: `complainant.phone` is a
/// field of the object `complainant`, `items[2].action` a field of the third
/// element of the list `items`. Values stay text; empty ones are left out,
/// as an empty input is an answer not given.
pub fn form_tree<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let mut root = Value::Object(Map::new());
    for (name, value) in pairs {
        if value.trim().is_empty() {
            continue;
        }
        let mut at = &mut root;
        let steps: Vec<&str> = name.split('.').collect();
        for (i, step) in steps.iter().enumerate() {
            let (key, index) = match step.strip_suffix(']').and_then(|s| s.split_once('[')) {
                Some((k, n)) => match n.parse::<usize>() {
                    Ok(n) if n < 100 => (k, Some(n)),
                    _ => (*step, None),
                },
                None => (*step, None),
            };
            let last = i + 1 == steps.len();
            let Value::Object(obj) = at else { break };
            let slot = obj.entry(key.to_owned()).or_insert(Value::Null);
            at = match index {
                Some(n) => {
                    if !slot.is_array() {
                        *slot = Value::Array(Vec::new());
                    }
                    let Value::Array(list) = slot else {
                        unreachable!("made a list above")
                    };
                    if list.len() <= n {
                        list.resize(n + 1, Value::Object(Map::new()));
                    }
                    &mut list[n]
                }
                None => slot,
            };
            if last {
                *at = Value::String(value.to_owned());
            } else if !at.is_object() {
                *at = Value::Object(Map::new());
            }
        }
    }
    root
}

/// A field that is there: not null, not blank text.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    })
}

/// A value that can be read from a present field.
pub trait FromInput: Sized {
    /// Reads `v`, adding what is wrong under `path`.
    fn from_input(v: &Value, path: &str, p: &mut Parse<'_>) -> Option<Self>;
}

/// A value read from one JSON value alone, with one code when it is bad.
pub trait Scalar: Sized {
    fn scalar(v: &Value, source: Source) -> Result<Self, (Code, Option<String>)>;
}

impl<T: Scalar> FromInput for T {
    fn from_input(v: &Value, path: &str, p: &mut Parse<'_>) -> Option<Self> {
        match T::scalar(v, p.source) {
            Ok(x) => Some(x),
            Err((code, None)) => {
                p.add(path, code);
                None
            }
            Err((code, Some(message))) => {
                p.add_with(path, code, message);
                None
            }
        }
    }
}

/// How a field's absence is judged: `T` is required, `Option<T>` optional.
pub trait Slot: Sized {
    fn slot(v: Option<&Value>, path: &str, p: &mut Parse<'_>) -> Option<Self>;
}

impl<T: FromInput> Slot for T {
    fn slot(v: Option<&Value>, path: &str, p: &mut Parse<'_>) -> Option<Self> {
        match present(v) {
            Some(v) => T::from_input(v, path, p),
            None => {
                p.add(path, Code::Required);
                None
            }
        }
    }
}

impl<T: FromInput> Slot for Option<T> {
    fn slot(v: Option<&Value>, path: &str, p: &mut Parse<'_>) -> Option<Self> {
        match present(v) {
            Some(v) => T::from_input(v, path, p).map(Some),
            None => Some(None),
        }
    }
}

/// Reads a field with a default for its absence.
pub fn slot_or<T: FromInput>(v: Option<&Value>, path: &str, p: &mut Parse<'_>, d: T) -> Option<T> {
    match present(v) {
        Some(v) => T::from_input(v, path, p),
        None => Some(d),
    }
}

/// The path of field `name` of an object at `prefix` (`""` at the top).
pub fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A command or a nested object of one: its fields are read one by one.
pub trait Fields: Sized {
    const NAMES: &'static [&'static str];
    /// Reads the fields (unknown ones are errors), then runs the checks.
    fn read(obj: &Map<String, Value>, prefix: &str, p: &mut Parse<'_>) -> Option<Self>;
}

/// A command staff send: who may send it is part of the command, so the API
/// refuses a role before reading its body (403 before 422), and the domain
/// function checks the same action.
pub trait Command: Fields {
    const ACTION: crate::auth::policy::Action;
}

/// Checks across a command's fields, on its draft (see [`command!`]):
/// `prefix` is where the command sits in the request (`""` at the top).
pub trait Check {
    fn check(&self, prefix: &str, p: &mut Parse<'_>);
}

/// Whether an optional field of a draft was given (well or badly): not
/// `Some(None)`, which is absent.
pub fn given<T>(field: &Option<Option<T>>) -> bool {
    !matches!(field, Some(None))
}

/// Every key of `obj` not in `names` is an error.
pub fn deny_unknown(obj: &Map<String, Value>, names: &[&str], prefix: &str, p: &mut Parse<'_>) {
    for key in obj.keys() {
        if !names.contains(&key.as_str()) {
            p.add(path(prefix, key), Code::UnknownField);
        }
    }
}

/// Reads a nested command.
pub fn nested<T: Fields>(v: &Value, path: &str, p: &mut Parse<'_>) -> Option<T> {
    match v {
        Value::Object(obj) => T::read(obj, path, p),
        _ => {
            p.add_with(
                path,
                Code::WrongType {
                    expected: "an object",
                },
                "must be an object",
            );
            None
        }
    }
}

/// Declares a command (or an object nested in one): the struct with its
/// derives and the reading of its fields. Doc comments and `#[schema]`
/// attributes pass through to the struct. `checked as Draft` after the
/// braces declares `Draft`, the fields as they were read (`None` where a
/// field was bad or missing), on which the command's [`Check`] runs — even
/// when other fields failed, so every error is named at once.
#[macro_export]
macro_rules! command {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty $(= $default:expr)?
            ),* $(,)?
        }
        // (rustfmt writes a comma after the braces)
        $(,)? $(checked as $draft:ident)?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                $(#[serde(default = "Default::default")] #[doc = concat!("\n\nDefault: `", stringify!($default), "`.")])?
                #[schema(inline)]
                pub $field: $ty,
            )*
        }

        $crate::command!(@draft [$($draft)?] $name { $($field: $ty),* });

        impl $crate::domain::command::Fields for $name {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];
            fn read(
                obj: &serde_json::Map<String, serde_json::Value>,
                prefix: &str,
                p: &mut $crate::domain::command::Parse<'_>,
            ) -> Option<Self> {
                $crate::domain::command::deny_unknown(obj, Self::NAMES, prefix, p);
                $(
                    let $field = $crate::command!(@read obj, prefix, p, $field, $ty $(, $default)?);
                )*
                $crate::command!(@finish [$($draft)?] $name, prefix, p, [$($field),*])
            }
        }

        impl $crate::domain::command::FromInput for $name {
            fn from_input(
                v: &serde_json::Value,
                path: &str,
                p: &mut $crate::domain::command::Parse<'_>,
            ) -> Option<Self> {
                $crate::domain::command::nested(v, path, p)
            }
        }
    };
    (@draft [] $name:ident { $($field:ident : $ty:ty),* }) => {};
    (@draft [$draft:ident] $name:ident { $($field:ident : $ty:ty),* }) => {
        #[doc = concat!("The fields of [`", stringify!($name), "`] as read: `None` where one was bad or missing.")]
        pub struct $draft {
            $(pub $field: Option<$ty>,)*
        }
    };
    (@finish [] $name:ident, $prefix:ident, $p:ident, [$($field:ident),*]) => {
        Some($name { $($field: $field?,)* })
    };
    (@finish [$draft:ident] $name:ident, $prefix:ident, $p:ident, [$($field:ident),*]) => {{
        let draft = $draft { $($field,)* };
        $crate::domain::command::Check::check(&draft, $prefix, $p);
        let $draft { $($field,)* } = draft;
        Some($name { $($field: $field?,)* })
    }};
    (@read $obj:ident, $prefix:ident, $p:ident, $field:ident, $ty:ty) => {
        <$ty as $crate::domain::command::Slot>::slot(
            $obj.get(stringify!($field)),
            &$crate::domain::command::path($prefix, stringify!($field)),
            $p,
        )
    };
    (@read $obj:ident, $prefix:ident, $p:ident, $field:ident, $ty:ty, $default:expr) => {
        $crate::domain::command::slot_or::<$ty>(
            $obj.get(stringify!($field)),
            &$crate::domain::command::path($prefix, stringify!($field)),
            $p,
            $default,
        )
    };
}

/// Declares a closed set of codes a field may take: the enum, its text
/// (as stored and sent), and its reading (`one_of` when it is not one).
/// `default Variant` after the braces names the value of an absent field.
#[macro_export]
macro_rules! choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }
        $(,)? $(default $default:ident)?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const CODES: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        // The schema lists the codes as they are sent (utoipa's derive would
        // not see the renames the macro writes).
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::CODES.iter().copied()))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        $(
            impl Default for $name {
                fn default() -> Self {
                    $name::$default
                }
            }
        )?

        impl $crate::domain::command::Scalar for $name {
            fn scalar(
                v: &serde_json::Value,
                _source: $crate::domain::command::Source,
            ) -> Result<Self, ($crate::error::Code, Option<String>)> {
                v.as_str()
                    .and_then(|s| Self::parse(s.trim()))
                    .ok_or_else(|| {
                        (
                            $crate::error::Code::OneOf {
                                allowed: Self::CODES.iter().map(|s| (*s).to_owned()).collect(),
                            },
                            None,
                        )
                    })
            }
        }
    };
}

/// serde's reading of a scalar type (a client or a test deserialising a
/// command directly): the checks of the parse step, its message as serde's
/// error.
fn from_json<T: Scalar, E: serde::de::Error>(v: Value) -> Result<T, E> {
    T::scalar(&v, Source::Json).map_err(|(code, m)| E::custom(m.unwrap_or_else(|| code.message())))
}

fn string(v: &Value) -> Result<&str, (Code, Option<String>)> {
    v.as_str().map(str::trim).ok_or((
        Code::WrongType {
            expected: "a string",
        },
        Some("must be a string".to_owned()),
    ))
}

/// Text of `MIN..=MAX` characters, trimmed; `LINES` allows line breaks and
/// tabs.
fn text<const MIN: usize, const MAX: usize>(
    v: &Value,
    lines: bool,
) -> Result<String, (Code, Option<String>)> {
    let s = string(v)?;
    if let Some(msg) = validation::control_chars(s, lines) {
        return Err((Code::ControlCharacters, Some(msg.to_owned())));
    }
    let n = s.chars().count();
    if n < MIN {
        return Err((Code::TooShort { min: MIN }, None));
    }
    if n > MAX {
        return Err((Code::TooLong { max: MAX }, None));
    }
    Ok(s.to_owned())
}

/// Declares a text newtype: `Deref` to `str`, its reading, its serde and its
/// schema (a string with its limits).
macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $lines:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name<const MIN: usize, const MAX: usize>(String);

        impl<const MIN: usize, const MAX: usize> $name<MIN, MAX> {
            /// The text if it is valid here, trimmed.
            pub fn new(s: &str) -> Option<Self> {
                text::<MIN, MAX>(&Value::String(s.to_owned()), $lines)
                    .ok()
                    .map(Self)
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl<const MIN: usize, const MAX: usize> std::ops::Deref for $name<MIN, MAX> {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<const MIN: usize, const MAX: usize> From<$name<MIN, MAX>> for String {
            fn from(t: $name<MIN, MAX>) -> String {
                t.0
            }
        }

        impl<const MIN: usize, const MAX: usize> Scalar for $name<MIN, MAX> {
            fn scalar(v: &Value, _: Source) -> Result<Self, (Code, Option<String>)> {
                text::<MIN, MAX>(v, $lines).map(Self)
            }
        }

        impl<'de, const MIN: usize, const MAX: usize> serde::Deserialize<'de> for $name<MIN, MAX> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_json(Value::String(String::deserialize(d)?))
            }
        }

        impl<const MIN: usize, const MAX: usize> utoipa::PartialSchema for $name<MIN, MAX> {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some(MIN))
                    .max_length(Some(MAX))
                    .into()
            }
        }

        impl<const MIN: usize, const MAX: usize> utoipa::ToSchema for $name<MIN, MAX> {}
    };
}

text_type!(
    /// One line of text, trimmed, of `MIN..=MAX` characters, without control
    /// or invisible characters.
    Text,
    false
);
text_type!(
    /// Text of `MIN..=MAX` characters that may hold line breaks and tabs.
    Lines,
    true
);

/// Declares a newtype read by a function of `validation` that normalises it.
macro_rules! checked_type {
    ($(#[$meta:meta])* $name:ident, $max:expr, $code:expr, $check:expr, $example:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl Scalar for $name {
            fn scalar(v: &Value, _: Source) -> Result<Self, (Code, Option<String>)> {
                let s = text::<1, $max>(v, false)?;
                let check: fn(&str) -> Result<String, &'static str> = $check;
                check(&s)
                    .map(Self)
                    .map_err(|m| ($code, Some(m.to_owned())))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_json(Value::String(String::deserialize(d)?))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .max_length(Some($max))
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

checked_type!(
    /// A mainland phone number: a mobile (11 digits starting 1) or a
    /// landline with its area code; read with spaces, dashes or +86 and kept
    /// as digits.
    Phone,
    32,
    Code::BadPhone,
    validation::normalise_phone,
    "139 1234 5678"
);
checked_type!(
    /// An e-mail address.
    Email,
    254,
    Code::BadEmail,
    |s| match validation::email(s) {
        Some(m) => Err(m),
        None => Ok(s.to_owned()),
    },
    "name@example.cn"
);
checked_type!(
    /// An 18-character resident ID number, its check digit verified.
    IdNumber,
    18,
    Code::BadIdNumber,
    validation::id_number,
    "110105194912310029"
);

/// A code of reference data (`U`: [`UnitRef`] or [`CategoryRef`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefCode<U>(String, PhantomData<U>);

/// A unit's code (`GET /api/v1/units`).
pub type UnitCode = RefCode<UnitRef>;
/// A category's code (`GET /api/v1/categories`).
pub type CategoryCode = RefCode<CategoryRef>;

/// What a [`RefCode`] refers to.
pub trait RefKind {
    const MAX: usize;
    fn reference(path: String, code: String) -> Reference;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitRef;
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryRef;
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRef;

impl RefKind for CaseRef {
    const MAX: usize = 40;
    fn reference(path: String, code: String) -> Reference {
        Reference::Case { path, code }
    }
}

impl RefKind for UnitRef {
    const MAX: usize = 16;
    fn reference(path: String, code: String) -> Reference {
        Reference::Unit { path, code }
    }
}

impl RefKind for CategoryRef {
    const MAX: usize = 32;
    fn reference(path: String, code: String) -> Reference {
        Reference::Category { path, code }
    }
}

impl<U> RefCode<U> {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<U> std::ops::Deref for RefCode<U> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<U: RefKind> FromInput for RefCode<U> {
    fn from_input(v: &Value, path: &str, p: &mut Parse<'_>) -> Option<Self> {
        let code = <Text<1, 64>>::from_input(v, path, p)?.into_inner();
        if code.chars().count() > U::MAX {
            p.add(path, Code::TooLong { max: U::MAX });
            return None;
        }
        p.references
            .push(U::reference(path.to_owned(), code.clone()));
        Some(Self(code, PhantomData))
    }
}

impl<'de, U: RefKind> serde::Deserialize<'de> for RefCode<U> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = from_json::<Text<1, 64>, D::Error>(Value::String(String::deserialize(d)?))?;
        if code.chars().count() > U::MAX {
            return Err(serde::de::Error::custom(
                Code::TooLong { max: U::MAX }.message(),
            ));
        }
        Ok(Self(code.into_inner(), PhantomData))
    }
}

impl<U: RefKind> utoipa::PartialSchema for RefCode<U> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(U::MAX))
            .into()
    }
}

impl<U: RefKind> utoipa::ToSchema for RefCode<U> {}

/// A whole number from `MIN` to `MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Int<const MIN: i64, const MAX: i64>(pub i64);

impl<const MIN: i64, const MAX: i64> Int<MIN, MAX> {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64> Scalar for Int<MIN, MAX> {
    fn scalar(v: &Value, source: Source) -> Result<Self, (Code, Option<String>)> {
        let n = match (v, source) {
            (Value::String(s), Source::Form) => s.trim().parse::<i64>().ok(),
            _ => v.as_i64(),
        };
        n.filter(|n| (MIN..=MAX).contains(n))
            .map(Self)
            .ok_or((Code::OutOfRange { min: MIN, max: MAX }, None))
    }
}

impl<'de, const MIN: i64, const MAX: i64> serde::Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_json(Value::from(i64::deserialize(d)?))
    }
}

impl<const MIN: i64, const MAX: i64> utoipa::PartialSchema for Int<MIN, MAX> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(MIN as f64))
            .maximum(Some(MAX as f64))
            .into()
    }
}

impl<const MIN: i64, const MAX: i64> utoipa::ToSchema for Int<MIN, MAX> {}

/// The most working days a deadline may be given.
pub const MAX_WORKDAYS: i64 = 120;

/// Working days for a deadline.
pub type Workdays = Int<1, MAX_WORKDAYS>;

impl Scalar for bool {
    fn scalar(v: &Value, source: Source) -> Result<Self, (Code, Option<String>)> {
        match (v, source) {
            (Value::Bool(b), _) => Ok(*b),
            (Value::String(s), Source::Form) => match s.trim() {
                "true" | "on" | "1" | "yes" => Ok(true),
                "false" | "off" | "0" | "no" => Ok(false),
                _ => Err(bad_switch()),
            },
            _ => Err(bad_switch()),
        }
    }
}

fn bad_switch() -> (Code, Option<String>) {
    (
        Code::WrongType {
            expected: "true or false",
        },
        None,
    )
}

impl Scalar for NaiveDate {
    fn scalar(v: &Value, _: Source) -> Result<Self, (Code, Option<String>)> {
        let s = text::<1, 10>(v, false).map_err(|_| (Code::BadDate, None))?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| (Code::BadDate, None))
    }
}

impl Scalar for DateTime<Utc> {
    fn scalar(v: &Value, _: Source) -> Result<Self, (Code, Option<String>)> {
        let s = text::<1, 40>(v, false).map_err(|_| (Code::BadTime, None))?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| (Code::BadTime, None))
    }
}

/// Declares a date or time type whose bounds depend on the parse's
/// context (today, the hotline window).
macro_rules! bounded_type {
    ($(#[$meta:meta])* $name:ident($inner:ty, $format:expr), |$v:ident, $cx:ident| $check:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl FromInput for $name {
            fn from_input(v: &Value, path: &str, p: &mut Parse<'_>) -> Option<Self> {
                let $v = <$inner>::from_input(v, path, p)?;
                let $cx = p.context;
                let bad: Option<(Code, String)> = $check;
                match bad {
                    Some((code, message)) => {
                        p.add_with(path, code, message);
                        None
                    }
                    None => Some(Self($v)),
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat($format)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

bounded_type!(
    /// The day something happened: not after today, not before 1990.
    Occurred(NaiveDate, utoipa::openapi::KnownFormat::Date),
    |d, cx| if d > cx.local_date(cx.now) {
        Some((Code::InFuture, Code::InFuture.message()))
    } else if d < NaiveDate::from_ymd_opt(1990, 1, 1).expect("a valid date") {
        Some((Code::TooEarly, "must not be before 1990".to_owned()))
    } else {
        None
    }
);

bounded_type!(
    /// A day by which something is due: today or later.
    Due(NaiveDate, utoipa::openapi::KnownFormat::Date),
    |d, cx| (d < cx.local_date(cx.now))
        .then(|| (Code::TooEarly, "must not be in the past".to_owned()))
);

bounded_type!(
    /// When a hotline call began: within the hotline window, not in the
    /// future (a minute of clock skew allowed).
    CallStart(DateTime<Utc>, utoipa::openapi::KnownFormat::DateTime),
    |t, cx| if t > cx.now + chrono::Duration::minutes(1) {
        Some((Code::InFuture, Code::InFuture.message()))
    } else if t < cx.oldest_call {
        Some((
            Code::TooEarly,
            format!("must be within the last {} days", (cx.now - cx.oldest_call).num_days()),
        ))
    } else {
        None
    }
);

/// A situation's code of the accountability catalogue.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct SituationCode(pub String);

impl std::ops::Deref for SituationCode {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl FromInput for SituationCode {
    fn from_input(v: &Value, path: &str, p: &mut Parse<'_>) -> Option<Self> {
        let code = <Text<1, 16>>::from_input(v, path, p)?.into_inner();
        if !p.context.situations.knows(&code) {
            p.add(path, Code::NotASituation);
            return None;
        }
        Some(Self(code))
    }
}

impl utoipa::PartialSchema for SituationCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <Text<1, 16> as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for SituationCode {}

/// Reads a field with its own serde `Deserialize`: serde's message names
/// what is wrong, under the field's path.
pub fn with_serde<T: serde::de::DeserializeOwned>(
    v: &Value,
    path: &str,
    p: &mut Parse<'_>,
) -> Option<T> {
    match T::deserialize(v) {
        Ok(x) => Some(x),
        Err(e) => {
            p.add_with(path, Code::BadFormat, e.to_string());
            None
        }
    }
}

/// A deduction from an efficiency score, written as the change to the score:
/// 0 to -100 with at most two decimals (`-2` deducts two points). Holds the
/// amount deducted, in hundredths of a point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deduction(pub i32);

impl Scalar for Deduction {
    fn scalar(v: &Value, source: Source) -> Result<Self, (Code, Option<String>)> {
        let n = match (v, source) {
            (Value::String(s), Source::Form) => s.trim().parse::<f64>().ok(),
            _ => v.as_f64(),
        };
        n.filter(|p| *p <= 0.0)
            .and_then(|p| crate::domain::points::centipoints(-p))
            .map(Deduction)
            .ok_or((Code::BadDeduction, None))
    }
}

impl<'de> serde::Deserialize<'de> for Deduction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_json(Value::from(f64::deserialize(d)?))
    }
}

impl utoipa::PartialSchema for Deduction {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .minimum(Some(-100.0))
            .maximum(Some(0.0))
            .multiple_of(Some(0.01))
            .examples([serde_json::json!(-2)])
            .into()
    }
}

impl utoipa::ToSchema for Deduction {}

/// The most entries any list field may hold; a command checks its own
/// smaller bound (and says it in its schema with `max_items`).
pub const MAX_LIST: usize = 100_000;

impl<T: FromInput> FromInput for Vec<T> {
    fn from_input(v: &Value, path: &str, p: &mut Parse<'_>) -> Option<Self> {
        let Value::Array(items) = v else {
            p.add_with(
                path,
                Code::WrongType { expected: "a list" },
                "must be a list",
            );
            return None;
        };
        if items.len() > MAX_LIST {
            p.add(path, Code::TooMany { max: MAX_LIST });
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match T::from_input(item, &format!("{path}[{i}]"), p) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    choice!(
        pub enum Mood {
            Calm = "calm",
            Cross = "cross",
        }
    );

    command!(
        pub struct Inner {
            pub name: Text<1, 5>,
        }
    );

    command!(
        pub struct Sample {
            pub title: Text<2, 10>,
            pub body: Option<Lines<1, 100>>,
            pub days: Option<Int<1, 60>>,
            pub mood: Mood,
            pub loud: bool = false,
            pub phone: Option<Phone>,
            pub inner: Option<Inner>,
            #[schema(max_items = 2)]
            pub items: Vec<Inner> = Vec::new(),
            pub unit: Option<UnitCode>,
        },
        checked as SampleDraft
    );
    impl Check for SampleDraft {
        fn check(&self, prefix: &str, p: &mut Parse<'_>) {
            if self.loud == Some(true) && matches!(self.body, Some(None)) {
                p.add_with(
                    path(prefix, "body"),
                    Code::Required,
                    "is required when loud",
                );
            }
        }
    }

    struct NoSituations;

    impl Situations for NoSituations {
        fn knows(&self, _: &str) -> bool {
            false
        }
    }

    fn cx() -> Context<'static> {
        Context {
            now: Utc::now(),
            tz: chrono_tz::Asia::Shanghai,
            oldest_call: Utc::now() - chrono::Duration::days(7),
            situations: &NoSituations,
        }
    }

    fn codes(r: &Rejected) -> Vec<(String, Code)> {
        r.errors
            .as_slice()
            .iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect()
    }

    #[test]
    fn every_bad_field_is_named_with_its_code() {
        let body = json!({
            "title": "x",
            "days": "3",
            "mood": "happy",
            "loud": 1,
            "phone": "123",
            "inner": {"name": "toolong", "extra": 1},
            "items": [{"name": "ok"}, {}],
            "unit": "U1",
            "typo": true
        });
        let r = parse::<Sample>(&body, Source::Json, &cx()).unwrap_err();
        let got = codes(&r);
        let want = [
            ("typo", Code::UnknownField),
            ("title", Code::TooShort { min: 2 }),
            ("days", Code::OutOfRange { min: 1, max: 60 }),
            (
                "mood",
                Code::OneOf {
                    allowed: vec!["calm".into(), "cross".into()],
                },
            ),
            (
                "loud",
                Code::WrongType {
                    expected: "true or false",
                },
            ),
            ("phone", Code::BadPhone),
            ("inner.extra", Code::UnknownField),
            ("inner.name", Code::TooLong { max: 5 }),
            ("items[1].name", Code::Required),
        ];
        for (field, code) in want {
            assert!(
                got.contains(&(field.to_owned(), code.clone())),
                "{field} {code:?} missing from {got:?}"
            );
        }
        assert_eq!(got.len(), 9, "{got:?}");
        assert!(
            matches!(&r.references[..], [Reference::Unit { path, code }] if path == "unit" && code == "U1")
        );
    }

    #[test]
    fn a_form_fills_the_same_command() {
        let pairs: Vec<(String, String)> = [
            ("title", " 标题 "),
            ("days", "5"),
            ("mood", "calm"),
            ("loud", "on"),
            ("body", "正文\n第二行"),
            ("inner.name", "甲"),
            ("items[0].name", "乙"),
            ("items[1].name", "丙"),
            ("phone", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let s = parse::<Sample>(
            &form_tree(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            Source::Form,
            &cx(),
        )
        .unwrap();
        assert_eq!(&*s.title, "标题");
        assert_eq!(s.body.as_deref(), Some("正文\n第二行"));
        assert_eq!(s.days, Some(Int(5)));
        assert_eq!(s.mood.as_str(), "calm");
        assert!(s.loud);
        assert_eq!(s.unit, None);
        assert_eq!(s.phone, None);
        assert_eq!(s.inner.map(|i| i.name.into_inner()), Some("甲".into()));
        assert_eq!(s.items.len(), 2);
        // The same text in JSON is a wrong type: JSON keeps its types.
        let json = json!({"title": "标题", "mood": "calm", "days": "5"});
        let r = parse::<Sample>(&json, Source::Json, &cx()).unwrap_err();
        assert_eq!(
            codes(&r),
            vec![("days".into(), Code::OutOfRange { min: 1, max: 60 })]
        );
    }

    #[test]
    fn checks_run_on_what_was_read_and_defaults_fill_gaps() {
        let r = parse::<Sample>(
            &json!({"title": "标题", "mood": "cross", "loud": true}),
            Source::Json,
            &cx(),
        )
        .unwrap_err();
        assert_eq!(codes(&r), vec![("body".into(), Code::Required)]);
        // The check runs even when another field failed.
        let r = parse::<Sample>(
            &json!({"title": "x", "mood": "cross", "loud": true}),
            Source::Json,
            &cx(),
        )
        .unwrap_err();
        assert_eq!(
            codes(&r),
            vec![
                ("title".into(), Code::TooShort { min: 2 }),
                ("body".into(), Code::Required)
            ]
        );
        let s = parse::<Sample>(
            &json!({"title": "标题", "mood": "cross"}),
            Source::Json,
            &cx(),
        )
        .unwrap();
        assert!(!s.loud && s.items.is_empty());
        let r = parse::<Sample>(&json!([1]), Source::Json, &cx()).unwrap_err();
        assert_eq!(codes(&r)[0].0, "body");
    }

    #[test]
    fn serde_reads_the_same_types() {
        let s: Sample = serde_json::from_value(json!({"title": "标题", "mood": "calm"})).unwrap();
        assert_eq!(s.mood, Mood::Calm);
        let e = serde_json::from_value::<Sample>(json!({"title": "x", "mood": "calm"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 2"), "{e}");
    }

    #[test]
    fn form_tree_nests_objects_and_lists() {
        let pairs: Vec<(String, String)> = [("a.b", "1"), ("l[1].x", "2"), ("l[0].x", "3")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(
            form_tree(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            json!({"a": {"b": "1"}, "l": [{"x": "3"}, {"x": "2"}]})
        );
    }
}
