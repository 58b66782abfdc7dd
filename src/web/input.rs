//! What a posted page form brings, read the same way by every page.

use std::collections::HashMap;

use actix_web::web;

/// A posted form: every input by name.
pub(super) type Form = web::Form<HashMap<String, String>>;

/// The values a form brings back, trimmed; unknown inputs are dropped.
pub(super) fn known<'a>(
    form: &HashMap<String, String>,
    names: impl IntoIterator<Item = &'a str>,
) -> HashMap<String, String> {
    names
        .into_iter()
        .filter_map(|n| {
            form.get(n)
                .map(|v| (n.to_owned(), v.trim().to_owned()))
                .filter(|(_, v)| !v.is_empty())
        })
        .collect()
}

/// A check box is ticked.
pub(super) fn is_checked(form: &HashMap<String, String>, name: &str) -> bool {
    form.get(name)
        .is_some_and(|v| matches!(v.as_str(), "true" | "on" | "1"))
}
