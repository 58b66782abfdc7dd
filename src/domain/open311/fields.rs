//! The Open311 names of a request's fields: the attributes every service
//! carries, and the translation of intake's field paths into them.

/// The attribute codes of every service, in order.
pub const ATTRIBUTES: &[&str] = &[
    "title",
    "subject_unit",
    "subject_person",
    "township",
    "occurred_on",
];

/// Translates intake's field paths into the Open311 names a client sent.
#[derive(Clone, Debug, Default)]
pub struct FieldNames {
    pub(super) township_from_address: bool,
}

impl FieldNames {
    pub fn open311(&self, intake_path: &str) -> String {
        match intake_path {
            "content" => "description".into(),
            "category" => "service_code".into(),
            "township" if self.township_from_address => "address_string".into(),
            "complainant.name" | "complainant" => "first_name".into(),
            "complainant.phone" => "phone".into(),
            "complainant.email" => "email".into(),
            a if ATTRIBUTES.contains(&a) => format!("attribute[{a}]"),
            other => other.into(),
        }
    }
}
