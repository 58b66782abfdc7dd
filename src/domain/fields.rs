//! Reading a JSON object field by field while collecting every problem, so a
//! request is answered with all of its bad fields at once (and with their
//! full paths, e.g. `complainant.phone`).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::domain::validation;
use crate::error::FieldErrors;

pub struct Reader<'a> {
    obj: Option<&'a Map<String, Value>>,
    prefix: String,
    pub errors: &'a mut FieldErrors,
}

impl<'a> Reader<'a> {
    /// Reads the request body; anything but an object is one error on `body`.
    pub fn root(value: &'a Value, errors: &'a mut FieldErrors) -> Self {
        let obj = value.as_object();
        if obj.is_none() {
            errors.add("body", "must be a JSON object");
        }
        Self {
            obj,
            prefix: String::new(),
            errors,
        }
    }

    /// Adds "is required" for a missing field, unless the object itself is
    /// missing (that one error is reported already).
    fn missing(&mut self, name: &str, required: bool) {
        if required && self.obj.is_some() {
            let path = self.path(name);
            self.errors.add(path, "is required");
        }
    }

    /// Reads an element of a list, naming its fields under `prefix`
    /// (e.g. `items[2].`).
    pub fn at(value: &'a Value, prefix: String, errors: &'a mut FieldErrors) -> Self {
        let obj = value.as_object();
        if obj.is_none() {
            errors.add(prefix.trim_end_matches('.').to_owned(), "must be an object");
        }
        Self {
            obj,
            prefix,
            errors,
        }
    }

    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj?.get(name).filter(|v| !v.is_null())
    }

    /// Reads a body with `f`, refusing keys not in `allowed`; the caller may
    /// add checks of its own before finishing the errors.
    pub fn body(body: &'a Value, allowed: &[&str], f: impl FnOnce(&mut Reader<'_>)) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let mut r = Reader::root(body, &mut errors);
        r.deny_unknown(allowed);
        f(&mut r);
        errors
    }

    /// Every key not in `allowed` is an error (typos must not vanish silently).
    pub fn deny_unknown(&mut self, allowed: &[&str]) {
        if let Some(obj) = self.obj {
            for key in obj.keys() {
                if !allowed.contains(&key.as_str()) {
                    let path = self.path(key);
                    self.errors.add(path, "is not a known field");
                }
            }
        }
    }

    /// Records an error on `name` found by a check of the caller's own.
    pub fn invalid(&mut self, name: &str, message: &str) {
        let path = self.path(name);
        self.errors.add(path, message);
    }

    pub fn present(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A trimmed string of `min..=max` characters; empty counts as absent.
    pub fn text(
        &mut self,
        name: &str,
        required: bool,
        min: usize,
        max: usize,
        multiline: bool,
    ) -> Option<String> {
        let path = self.path(name);
        let Some(v) = self.get(name) else {
            self.missing(name, required);
            return None;
        };
        let Some(s) = v.as_str() else {
            self.errors.add(path, "must be a string");
            return None;
        };
        let s = s.trim();
        if s.is_empty() {
            self.missing(name, required);
            return None;
        }
        if let Some(msg) = validation::control_chars(s, multiline) {
            self.errors.add(path, msg);
            return None;
        }
        if let Some(msg) = validation::length(s, min, max) {
            self.errors.add(path, msg);
            return None;
        }
        Some(s.to_owned())
    }

    /// A code that must be one of `allowed`.
    pub fn choice(&mut self, name: &str, required: bool, allowed: &[&str]) -> Option<String> {
        let s = self.text(name, required, 1, 64, false)?;
        if allowed.contains(&s.as_str()) {
            Some(s)
        } else {
            let path = self.path(name);
            self.errors
                .add(path, format!("must be one of: {}", allowed.join(", ")));
            None
        }
    }

    pub fn boolean(&mut self, name: &str, default: bool) -> bool {
        match self.get(name) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                let path = self.path(name);
                self.errors.add(path, "must be true or false");
                default
            }
        }
    }

    pub fn integer(&mut self, name: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        let path = self.path(name);
        let Some(v) = self.get(name) else {
            self.missing(name, required);
            return None;
        };
        match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.errors
                    .add(path, format!("must be a whole number from {min} to {max}"));
                None
            }
        }
    }

    /// A deduction from an efficiency score, written as the change to the
    /// score: 0 to -100 with at most two decimals (`-2` deducts two points).
    /// Returns the amount deducted, in hundredths of a point.
    pub fn deduction(&mut self, name: &str, required: bool) -> Option<i32> {
        let path = self.path(name);
        let Some(v) = self.get(name) else {
            self.missing(name, required);
            return None;
        };
        match v
            .as_f64()
            .filter(|p| *p <= 0.0)
            .and_then(|p| crate::domain::accountability::centipoints(-p))
        {
            Some(c) => Some(c),
            None => {
                self.errors.add(
                    path,
                    "must be a deduction: the change to the score, from -100 to 0 with at most \
                     two decimals (-2 deducts two points)",
                );
                None
            }
        }
    }

    /// A calendar date, `YYYY-MM-DD`.
    pub fn date(&mut self, name: &str, required: bool) -> Option<NaiveDate> {
        let s = self.text(name, required, 1, 10, false)?;
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                let path = self.path(name);
                self.errors.add(path, "must be a date such as 2026-11-27");
                None
            }
        }
    }

    /// An RFC 3339 instant with its offset.
    pub fn instant(&mut self, name: &str, required: bool) -> Option<DateTime<Utc>> {
        let s = self.text(name, required, 1, 40, false)?;
        match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                let path = self.path(name);
                self.errors.add(
                    path,
                    "must be an RFC 3339 time such as 2026-11-27T09:30:00+08:00",
                );
                None
            }
        }
    }

    /// A phone number, normalised.
    pub fn phone(&mut self, name: &str, required: bool) -> Option<String> {
        let raw = self.text(name, required, 1, 32, false)?;
        match validation::normalise_phone(&raw) {
            Ok(p) => Some(p),
            Err(msg) => {
                let path = self.path(name);
                self.errors.add(path, msg);
                None
            }
        }
    }

    /// A nested object; its reader reports paths under `name.`.
    pub fn object<'b>(&'b mut self, name: &str, required: bool) -> Option<Reader<'b>>
    where
        'a: 'b,
    {
        let path = self.path(name);
        match self.get(name) {
            None => {
                self.missing(name, required);
                None
            }
            Some(Value::Object(obj)) => Some(Reader {
                obj: Some(obj),
                prefix: format!("{path}."),
                errors: self.errors,
            }),
            Some(_) => {
                self.errors.add(path, "must be an object");
                None
            }
        }
    }
}
