//! The events one CSV row stands for, from the fields read out of it: a base station's
//! heartbeat, an aid to navigation, or a vessel's fix (or its absence) and its static data.

use crate::decode::sink::{EventSink, RowReport};
use crate::model::TransceiverClass;
use crate::model::{AisEvent, Fix, Mmsi, OtherMessage, ReceiverHeartbeat};
use crate::record::ReportFields;
use crate::time::UnixMillis;

/// The fields read from one row before they become events; text is borrowed from the row.
pub(super) struct StaticFields<'r> {
    pub(super) imo: Option<u32>,
    pub(super) name: Option<&'r str>,
    pub(super) callsign: Option<&'r str>,
    pub(super) ship_type: Option<u8>,
    pub(super) to_bow: Option<u16>,
    pub(super) to_stern: Option<u16>,
    pub(super) to_port: Option<u16>,
    pub(super) to_starboard: Option<u16>,
    pub(super) length: Option<u16>,
    pub(super) beam: Option<u16>,
    pub(super) draught: Option<f32>,
    pub(super) destination: Option<&'r str>,
    pub(super) eta: Option<Eta>,
}

/// An ETA as AIS writes it, `MM-DDTHH:MMZ` (no year), held without an allocation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Eta([u8; 12]);

impl Eta {
    pub(super) fn new(month: u32, day: u32, hour: u32, minute: u32) -> Eta {
        let mut text = *b"00-00T00:00Z";
        for (at, value) in [(0, month), (3, day), (6, hour), (9, minute)] {
            text[at] = b'0' + (value / 10 % 10) as u8;
            text[at + 1] = b'0' + (value % 10) as u8;
        }
        Eta(text)
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("digits and ASCII marks")
    }
}

impl StaticFields<'_> {
    fn any(&self) -> bool {
        self.imo.is_some()
            || self.name.is_some()
            || self.callsign.is_some()
            || self.ship_type.is_some()
            || self.to_bow.is_some()
            || self.to_stern.is_some()
            || self.to_port.is_some()
            || self.to_starboard.is_some()
            || self.length.is_some()
            || self.beam.is_some()
            || self.draught.is_some()
            || self.destination.is_some()
            || self.eta.is_some()
    }
}

/// What sent the row, from DMA's `Type of mobile` (MarineCadastre rows are all vessels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mobile {
    Vessel(TransceiverClass),
    BaseStation,
    AidToNavigation,
}

/// The dynamic cells of a row.
pub(super) struct Motion {
    pub(super) position: Option<(f64, f64)>,
    pub(super) sog: Option<f32>,
    pub(super) cog: Option<f32>,
    pub(super) heading: Option<u16>,
    pub(super) turn: Option<f32>,
    pub(super) nav_status: Option<u8>,
}

/// What one row says, read out of its cells and not yet events.
pub(super) struct RowReading<'r> {
    pub(super) mmsi: Mmsi,
    pub(super) time: UnixMillis,
    pub(super) mobile: Mobile,
    pub(super) motion: Motion,
    pub(super) statics: StaticFields<'r>,
}

/// The events one row stands for: a base station's heartbeat, an aid to navigation, or a
/// vessel's fix (or its absence) and its static data. The fix is written into `fix`, which
/// holds the reception every row shares, and handed to the sink borrowed. How many events
/// the row gave.
#[inline]
pub(super) fn push_row_events<S: EventSink + ?Sized>(
    reading: RowReading<'_>,
    fix: &mut Fix,
    out: &mut S,
) -> usize {
    let RowReading {
        mmsi,
        time,
        mobile,
        motion,
        statics,
    } = reading;
    let Motion {
        position,
        sog,
        cog,
        heading,
        turn,
        nav_status,
    } = motion;
    fix.heard.time = Some(time);
    let class = match mobile {
        Mobile::Vessel(class) => class,
        Mobile::BaseStation => {
            out.events()
                .push(AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
                    mmsi,
                    heard: fix.heard.clone(),
                    station_time: None,
                    lat: position.map(|p| p.0),
                    lon: position.map(|p| p.1),
                }));
            return 1;
        }
        Mobile::AidToNavigation => {
            out.events().push(AisEvent::Other(OtherMessage {
                mmsi,
                msg_type: 0,
                heard: fix.heard.clone(),
            }));
            return 1;
        }
    };
    let has_statics = statics.any();
    let has_fix = match position {
        Some((lat, lon)) => {
            // Every field a row gives is set: nothing of an earlier row's fix stays.
            fix.mmsi = mmsi;
            fix.class = class;
            fix.lat = lat;
            fix.lon = lon;
            fix.sog = sog;
            fix.cog = cog;
            fix.heading = heading;
            fix.nav_status = nav_status;
            fix.turn = turn;
            true
        }
        None if !has_statics => {
            out.events()
                .push(AisEvent::PositionUnavailable(OtherMessage {
                    mmsi,
                    msg_type: 0,
                    heard: fix.heard.clone(),
                }));
            return 1;
        }
        None => false,
    };
    let fix = &*fix;
    let report = has_statics.then(|| RowReport {
        mmsi,
        msg_type: 0,
        heard: &fix.heard,
        fields: ReportFields {
            part: None,
            class: Some(class),
            imo: statics.imo,
            name: statics.name,
            callsign: statics.callsign,
            ship_type: statics.ship_type,
            to_bow: statics.to_bow,
            to_stern: statics.to_stern,
            to_port: statics.to_port,
            to_starboard: statics.to_starboard,
            length: statics.length,
            beam: statics.beam,
            draught: statics.draught,
            destination: statics.destination,
            eta: statics.eta.as_ref().map(Eta::as_str),
        },
    });
    let events = usize::from(has_fix) + usize::from(report.is_some());
    out.row(has_fix.then_some(fix), report);
    events
}
