//! The events one CSV row stands for, from the fields read out of it: a base station's
//! heartbeat, an aid to navigation, or a vessel's fix (or its absence) and its static data.

use crate::model::{AisEvent, Fix, Heard, Mmsi, OtherMessage, ReceiverHeartbeat};
use crate::model::{TransceiverClass, VesselReport};

/// The fields read from one row before they become events.
pub(super) struct StaticFields {
    pub(super) imo: Option<u32>,
    pub(super) name: Option<String>,
    pub(super) callsign: Option<String>,
    pub(super) ship_type: Option<u8>,
    pub(super) to_bow: Option<u16>,
    pub(super) to_stern: Option<u16>,
    pub(super) to_port: Option<u16>,
    pub(super) to_starboard: Option<u16>,
    pub(super) length: Option<u16>,
    pub(super) beam: Option<u16>,
    pub(super) draught: Option<f32>,
    pub(super) destination: Option<String>,
    pub(super) eta: Option<String>,
}

impl StaticFields {
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

/// The events one row stands for: a base station's heartbeat, an aid to navigation, or a
/// vessel's fix (or its absence) and its static data.
#[inline]
pub(super) fn push_row_events(
    mmsi: Mmsi,
    mobile: Mobile,
    motion: Motion,
    statics: StaticFields,
    heard: Heard,
    out: &mut Vec<AisEvent>,
) {
    let Motion {
        position,
        sog,
        cog,
        heading,
        turn,
        nav_status,
    } = motion;
    let class = match mobile {
        Mobile::Vessel(class) => class,
        Mobile::BaseStation => {
            out.push(AisEvent::ReceiverHeartbeat(ReceiverHeartbeat {
                mmsi,
                heard,
                station_time: None,
                lat: position.map(|p| p.0),
                lon: position.map(|p| p.1),
            }));
            return;
        }
        Mobile::AidToNavigation => {
            out.push(AisEvent::Other(OtherMessage {
                mmsi,
                msg_type: 0,
                heard,
            }));
            return;
        }
    };
    match position {
        Some((lat, lon)) => out.push(AisEvent::Fix(Fix {
            mmsi,
            msg_type: 0,
            class,
            heard: heard.clone(),
            lat,
            lon,
            sog,
            cog,
            heading,
            nav_status,
            turn,
            accuracy: false,
            raim: false,
            second: None,
        })),
        None if !statics.any() => out.push(AisEvent::PositionUnavailable(OtherMessage {
            mmsi,
            msg_type: 0,
            heard: heard.clone(),
        })),
        None => {}
    }
    if statics.any() {
        out.push(AisEvent::VesselReport(VesselReport {
            mmsi,
            msg_type: 0,
            part: None,
            class: Some(class),
            heard,
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
            eta: statics.eta,
        }));
    }
}
