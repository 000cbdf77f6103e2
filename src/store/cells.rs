//! Reading stored values back: a cell that does not hold what aisgap writes there is an error
//! naming the table, the row and the column ([`BadValue`]), never replaced by a default.

use std::fmt;

use rusqlite::types::{FromSql, Type, ValueRef};
use rusqlite::Row;

/// A stored value that does not read back as anything aisgap writes: where it is and why.
/// The database was altered by hand or by another program; answering from a guessed value
/// would show analysts something that was never judged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("stored data that does not parse: table {table}, row {row}, column {column}: {problem}")]
pub struct BadValue {
    pub table: &'static str,
    /// The row's key as the table defines it (`mmsi 445000001, dark_from 2024-...`) or its rowid.
    pub row: String,
    pub column: String,
    pub problem: String,
}

impl BadValue {
    /// Carried through rusqlite's row mapping as a conversion failure; `StoreError`'s
    /// conversion takes it out again (see [`BadValue::from_sql_error`]).
    pub(super) fn into_sql_error(self, index: usize) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Null, Box::new(self))
    }

    /// The `BadValue` inside an error made by [`BadValue::into_sql_error`].
    pub(super) fn from_sql_error(error: &rusqlite::Error) -> Option<BadValue> {
        match error {
            rusqlite::Error::FromSqlConversionFailure(_, _, inner) => {
                inner.downcast_ref::<BadValue>().cloned()
            }
            _ => None,
        }
    }
}

/// The cells of one row of `table`, read by position, each failure located.
pub(super) struct Cells<'r, 's> {
    row: &'r Row<'s>,
    table: &'static str,
    key: String,
}

impl<'r, 's> Cells<'r, 's> {
    /// `key` names the row for the messages (its primary key, or its rowid).
    pub(super) fn new(row: &'r Row<'s>, table: &'static str, key: String) -> Cells<'r, 's> {
        Cells { row, table, key }
    }

    /// The row's own key columns, shown as `name value, ...`, for tables keyed by them.
    pub(super) fn key_of(row: &Row<'_>, columns: &[(usize, &str)]) -> String {
        columns
            .iter()
            .map(|(index, name)| match row.get_ref(*index) {
                Ok(ValueRef::Integer(i)) => format!("{name} {i}"),
                Ok(ValueRef::Text(t)) => format!("{name} {:?}", String::from_utf8_lossy(t)),
                Ok(value) => format!("{name} {}", shown(value)),
                Err(_) => format!("{name} ?"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The cell at `index` as `T`; a value of another type is a located error.
    pub(super) fn get<T: FromSql>(&self, index: usize) -> rusqlite::Result<T> {
        self.row.get(index).map_err(|error| {
            let held = self
                .row
                .get_ref(index)
                .map_or_else(|_| "nothing".to_string(), shown);
            let problem = match error {
                rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..) => {
                    format!("holds {held}, which does not read as {}", type_name::<T>())
                }
                other => other.to_string(),
            };
            self.bad(index, problem)
        })
    }

    /// A count (never negative) at `index`.
    pub(super) fn count(&self, index: usize) -> rusqlite::Result<u64> {
        let value: i64 = self.get(index)?;
        u64::try_from(value).map_err(|_| self.bad(index, format!("{value} is not a count")))
    }

    /// A located error about the cell at `index`.
    pub(super) fn bad(&self, index: usize, problem: impl fmt::Display) -> rusqlite::Error {
        let column = self
            .row
            .as_ref()
            .column_name(index)
            .map_or_else(|_| format!("#{index}"), str::to_string);
        BadValue {
            table: self.table,
            row: self.key.clone(),
            column,
            problem: problem.to_string(),
        }
        .into_sql_error(index)
    }

    /// The text cell at `index` parsed by `parse`; `None` from it is a located error saying
    /// what was expected.
    pub(super) fn parsed<T>(
        &self,
        index: usize,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> rusqlite::Result<T> {
        let text: String = self.get(index)?;
        parse(&text).ok_or_else(|| self.bad(index, format!("{text:?} is not {expected}")))
    }

    /// Like [`Cells::parsed`] for a nullable column: NULL is `None`.
    pub(super) fn parsed_opt<T>(
        &self,
        index: usize,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> rusqlite::Result<Option<T>> {
        let text: Option<String> = self.get(index)?;
        match text {
            None => Ok(None),
            Some(text) => parse(&text)
                .map(Some)
                .ok_or_else(|| self.bad(index, format!("{text:?} is not {expected}"))),
        }
    }

    /// The JSON text cell at `index` as `T`.
    pub(super) fn json<T: serde::de::DeserializeOwned>(&self, index: usize) -> rusqlite::Result<T> {
        let text: String = self.get(index)?;
        serde_json::from_str(&text).map_err(|e| self.bad(index, format!("unreadable JSON ({e})")))
    }
}

/// A stored value as the messages show it.
fn shown(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("integer {i}"),
        ValueRef::Real(r) => format!("real {r}"),
        ValueRef::Text(t) => {
            let text = String::from_utf8_lossy(t);
            let cut: String = text.chars().take(40).collect();
            if cut.len() < text.len() {
                format!("text {cut:?}...")
            } else {
                format!("text {cut:?}")
            }
        }
        ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

/// What a Rust type reads from, in the words of the stored data.
fn type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let nullable = full.contains("Option<");
    let kind = if full.contains("f64") || full.contains("f32") {
        "a number"
    } else if full.contains("bool") {
        "a boolean (0 or 1)"
    } else if full.contains("Vec<u8>") {
        "a blob"
    } else if ["i64", "i32", "u64", "u32", "u16", "u8"]
        .iter()
        .any(|t| full.contains(t))
    {
        "an integer in range"
    } else if full.contains("String") {
        "text"
    } else {
        full
    };
    if nullable {
        format!("{kind} or NULL")
    } else {
        kind.to_string()
    }
}
