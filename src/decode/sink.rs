//! Where decoded events go: a list of events, or a taker of each CSV row's fix and static
//! report as the row is read, borrowed from the decoder and the row (replay encodes them
//! straight into sort records, with no owned copy of the row's text or reception).

use crate::model::{AisEvent, Fix, Heard, Mmsi};
use crate::record::ReportFields;

/// A vessel report read from a CSV row, its text borrowed from the row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowReport<'a> {
    pub mmsi: Mmsi,
    pub msg_type: u8,
    pub heard: &'a Heard,
    pub fields: ReportFields<'a>,
}

/// Takes what a decoder reads.
pub trait EventSink {
    /// Where whole events go, in the order they are read.
    fn events(&mut self) -> &mut Vec<AisEvent>;

    /// A CSV row's fix and static report (either may be missing): the fix comes first. Both
    /// are borrowed; a sink that keeps them makes its own copy.
    fn row(&mut self, fix: Option<&Fix>, report: Option<RowReport<'_>>);
}

impl EventSink for Vec<AisEvent> {
    fn events(&mut self) -> &mut Vec<AisEvent> {
        self
    }

    fn row(&mut self, fix: Option<&Fix>, report: Option<RowReport<'_>>) {
        if let Some(fix) = fix {
            self.push(AisEvent::Fix(fix.clone()));
        }
        if let Some(report) = report {
            self.push(AisEvent::VesselReport(report.fields.to_report(
                report.mmsi,
                report.msg_type,
                report.heard.clone(),
            )));
        }
    }
}
