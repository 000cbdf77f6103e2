//! The text fields of a static report (name, call sign, destination, ETA), held inline.
//!
//! AIS texts are at most 20 characters, and a CSV export's columns nearly always are too: a
//! `String` each meant four allocations for every report a decoder, a replay's sort and the
//! engines handed on (a CSV row carries a report), and four more frees where it was dropped.
//! Held in the 24 bytes a `String` takes, they cost a copy instead; a longer text (a
//! free-form CSV column) still goes to the heap.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes held inline: the rest of 24 bytes besides the form and the length.
const INLINE: usize = 22;

/// An immutable text of a report (and of the records that name its vessel), compared and
/// written as the `str` it holds.
#[derive(Clone)]
pub struct ShortText(Form);

#[derive(Clone)]
enum Form {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl ShortText {
    pub fn new(text: &str) -> ShortText {
        if text.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            ShortText(Form::Inline {
                len: text.len() as u8,
                bytes,
            })
        } else {
            ShortText(Form::Heap(text.into()))
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Form::Inline { len, bytes } => {
                let held = &bytes[..usize::from(*len)];
                // SAFETY: `held` is a copy of a whole `str` (`new` copies all of one, and
                // nothing else writes it), so it is valid UTF-8.
                unsafe { std::str::from_utf8_unchecked(held) }
            }
            Form::Heap(text) => text,
        }
    }
}

impl Deref for ShortText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ShortText {
    fn from(text: &str) -> ShortText {
        ShortText::new(text)
    }
}

impl From<String> for ShortText {
    fn from(text: String) -> ShortText {
        if text.len() <= INLINE {
            ShortText::new(&text)
        } else {
            ShortText(Form::Heap(text.into_boxed_str()))
        }
    }
}

impl PartialEq for ShortText {
    fn eq(&self, other: &ShortText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ShortText {}

impl PartialEq<str> for ShortText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ShortText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ShortText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShortText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ShortText, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = ShortText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ShortText, E> {
                Ok(ShortText::new(text))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<ShortText, E> {
                Ok(ShortText::from(text))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_reads_back_as_given_inline_or_not() {
        for text in [
            "",
            "A",
            "MARIA",
            "ABCDEFGHIJKLMNOPQRSTUV",
            "ÅLESUND FJORD",
            &"X".repeat(23),
        ] {
            let held = ShortText::new(text);
            assert_eq!(held.as_str(), text);
            assert_eq!(ShortText::from(text.to_owned()), held);
            assert_eq!(held, text);
            assert_eq!(
                serde_json::to_string(&held).unwrap(),
                serde_json::to_string(text).unwrap()
            );
            let back: ShortText =
                serde_json::from_str(&serde_json::to_string(text).unwrap()).unwrap();
            assert_eq!(back, held);
        }
        // A longer text on the heap equals the same text however it was made.
        let long = "A NAME LONGER THAN ANY AIS FIELD";
        assert_eq!(ShortText::new(long), ShortText::from(long.to_owned()));
    }

    #[test]
    fn an_optional_text_takes_no_more_room_than_an_optional_string() {
        assert_eq!(
            std::mem::size_of::<Option<ShortText>>(),
            std::mem::size_of::<Option<String>>()
        );
    }
}
