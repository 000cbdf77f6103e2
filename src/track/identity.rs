//! Who a vessel says it is: the latest value of each static field, how a static report folds
//! into it, and which identity fields differ across a dark period.

use serde::{Deserialize, Serialize};

use super::segments::fill_if_unknown;
use crate::model::{ShortText, TransceiverClass, VesselReport};

/// Who a vessel says it is: the latest value of each static field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub imo: Option<u32>,
    pub name: Option<ShortText>,
    pub callsign: Option<ShortText>,
    pub ship_type: Option<u8>,
    pub length: Option<u16>,
    pub beam: Option<u16>,
    pub draught: Option<f32>,
    pub destination: Option<ShortText>,
    pub class: Option<TransceiverClass>,
}

/// One static field that differs across a dark period.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct IdentityChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

fn set_if_new<T: PartialEq + Clone>(slot: &mut Option<T>, value: &Option<T>) -> bool {
    match value {
        Some(v) if slot.as_ref() != Some(v) => {
            *slot = Some(v.clone());
            true
        }
        _ => false,
    }
}

impl Identity {
    /// Folds a static report in; true when any field changed.
    pub fn apply(&mut self, report: &VesselReport) -> bool {
        let mut changed = false;
        changed |= set_if_new(&mut self.imo, &report.imo);
        changed |= set_if_new(&mut self.name, &report.name);
        changed |= set_if_new(&mut self.callsign, &report.callsign);
        changed |= set_if_new(&mut self.ship_type, &report.ship_type);
        changed |= set_if_new(&mut self.length, &report.length);
        changed |= set_if_new(&mut self.beam, &report.beam);
        changed |= set_if_new(&mut self.draught, &report.draught);
        changed |= set_if_new(&mut self.destination, &report.destination);
        changed |= set_if_new(&mut self.class, &report.class);
        changed
    }

    /// Fills only the fields still unknown: "the first value heard after" semantics.
    pub fn fill_unknown(&mut self, report: &VesselReport) {
        fill_if_unknown(&mut self.imo, &report.imo);
        fill_if_unknown(&mut self.name, &report.name);
        fill_if_unknown(&mut self.callsign, &report.callsign);
        fill_if_unknown(&mut self.ship_type, &report.ship_type);
        fill_if_unknown(&mut self.length, &report.length);
        fill_if_unknown(&mut self.beam, &report.beam);
        fill_if_unknown(&mut self.draught, &report.draught);
        fill_if_unknown(&mut self.destination, &report.destination);
        fill_if_unknown(&mut self.class, &report.class);
    }

    /// Identity fields (not voyage data such as draught or destination) that differ between
    /// `self` (before) and `after`, where both are known.
    pub fn changes_to(&self, after: &Identity) -> Vec<IdentityChange> {
        let mut changes = Vec::new();
        let mut compare = |field: &'static str, before: Option<String>, after: Option<String>| {
            if let (Some(b), Some(a)) = (before, after) {
                if b != a {
                    changes.push(IdentityChange {
                        field: field.to_string(),
                        before: b,
                        after: a,
                    });
                }
            }
        };
        let text = |s: &Option<ShortText>| s.as_ref().map(|s| s.trim().to_string());
        let num = |n: Option<u32>| n.map(|n| n.to_string());
        compare("imo", num(self.imo), num(after.imo));
        compare("name", text(&self.name), text(&after.name));
        compare("callsign", text(&self.callsign), text(&after.callsign));
        compare(
            "ship_type",
            num(self.ship_type.map(u32::from)),
            num(after.ship_type.map(u32::from)),
        );
        compare(
            "length",
            num(self.length.map(u32::from)),
            num(after.length.map(u32::from)),
        );
        compare(
            "beam",
            num(self.beam.map(u32::from)),
            num(after.beam.map(u32::from)),
        );
        changes
    }
}
