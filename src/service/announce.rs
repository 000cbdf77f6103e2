//! What the alerts say, and when, read off the engine's changes: each vessel going dark near a
//! port once, its reappearance, and each trip with its evidence as the database holds it
//! (announced, updated when the evidence changes, retracted when it stops being a trip). What
//! was said is saved with the engine checkpoint, so a restart neither repeats nor forgets it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::detect::at_sea::EpisodeStatus;
use crate::detect::rendezvous::RendezvousStatus;
use crate::detect::{GapRecord, GapStatus};
use crate::engine::Change;
use crate::model::Mmsi;
use crate::service::alerts::{Alert, AlertKind};
use crate::time::UnixMillis;

/// A gap's key: one vessel's silence starting at fix A.
type GapKey = (Mmsi, UnixMillis);

/// How long after a trip ended (stream time) it is still followed. The engine re-judges and
/// completes only recent gaps (30 days at most); past that nothing more will change about it.
const FOLLOW_TRIPS_MS: i64 = 31 * 86_400_000;

/// The checkpoint's field that holds what was announced.
const SAVED_AS: &str = "announced";

/// The memory of what the alerts said.
#[derive(Debug, Default)]
pub struct Announcer {
    /// Open gaps announced as dark now.
    dark: BTreeSet<GapKey>,
    /// Gaps recorded as trips (tallied or not, since the vessel may become watched later)
    /// and the gaps whose trip alerts were sent, within [`FOLLOW_TRIPS_MS`].
    trips: BTreeMap<GapKey, TripState>,
    /// The newest stream clock seen.
    clock: Option<UnixMillis>,
}

/// One followed trip: the gap as last recorded, and the last trip alert sent about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TripState {
    latest: Alert,
    sent: Option<Alert>,
}

impl TripState {
    fn key(&self) -> GapKey {
        (Mmsi(self.latest.mmsi), self.latest.dark_from)
    }

    /// Whether the database counts it as a trip: judged one, of a watched vessel.
    fn tallied(&self) -> bool {
        self.latest.status == Some(GapStatus::Trip) && self.latest.watched
    }

    /// What to send now that `latest` is current, if anything.
    fn next_alert(&self) -> Option<Alert> {
        let live = self
            .sent
            .as_ref()
            .filter(|sent| sent.event != AlertKind::TripRetracted);
        let event = match (self.tallied(), live) {
            (true, None) => AlertKind::Trip,
            (true, Some(sent)) if !same_evidence(sent, &self.latest) => AlertKind::TripUpdated,
            (false, Some(_)) => AlertKind::TripRetracted,
            _ => return None,
        };
        Some(Alert {
            event,
            revision: self.sent.as_ref().map_or(0, |s| s.revision) + 1,
            ..self.latest.clone()
        })
    }
}

/// Whether two alerts say the same about a trip beyond its key; any difference is an update.
fn same_evidence(a: &Alert, b: &Alert) -> bool {
    let evidence = |x: &Alert| {
        (
            (x.port.clone(), x.dark_until, x.until_lat, x.until_lon),
            (x.draught_before, x.draught_after, x.draught_change),
            (x.confidence, x.est_tonnes, x.est_barrels),
            (x.name.clone(), x.imo),
        )
    };
    evidence(a) == evidence(b)
}

/// [`Announcer`] as the checkpoint holds it.
#[derive(Default, Serialize, Deserialize)]
struct Saved {
    dark: Vec<GapKey>,
    trips: Vec<TripState>,
}

#[derive(Deserialize)]
struct SavedIn {
    #[serde(default)]
    announced: Option<Saved>,
}

impl Announcer {
    /// The alerts a commit's changes call for, in order; each is logged too. Dark-now and
    /// reappearance follow the changes one by one; a trip's alert is decided on its state at
    /// the end of the commit, which is what the database then holds.
    pub fn announce(&mut self, changes: &[Change]) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut touched = BTreeSet::new();
        for change in changes {
            match change {
                Change::Gap(gap) => {
                    if let Some(alert) = self.dark_or_back(gap) {
                        alerts.push(alert);
                    }
                    if let Some(key) = self.follow(gap) {
                        touched.insert(key);
                    }
                }
                Change::Watched { mmsi, watched } => {
                    for (key, trip) in self.trips.range_mut(vessel_keys(*mmsi)) {
                        trip.latest.watched = *watched;
                        touched.insert(*key);
                    }
                }
                Change::Clock(clock) => self.clock = self.clock.max(Some(*clock)),
                Change::Encounter(e) if e.newly_confirmed && e.watched() => {
                    for alert in Alert::of_encounter(e) {
                        log_alert(&alert);
                        alerts.push(alert);
                    }
                }
                Change::Loitering(l) if l.newly_confirmed => {
                    let alert = Alert::of_loitering(l);
                    log_alert(&alert);
                    alerts.push(alert);
                }
                Change::Encounter(e) if e.status == EpisodeStatus::Withdrawn && e.watched() => {
                    for mut alert in Alert::of_encounter(e) {
                        alert.event = AlertKind::EncounterRetracted;
                        log_alert(&alert);
                        alerts.push(alert);
                    }
                }
                Change::Loitering(l) if l.status == EpisodeStatus::Withdrawn => {
                    let mut alert = Alert::of_loitering(l);
                    alert.event = AlertKind::LoiteringRetracted;
                    log_alert(&alert);
                    alerts.push(alert);
                }
                Change::Rendezvous(r) => {
                    let event = if r.status == RendezvousStatus::Withdrawn {
                        AlertKind::RendezvousRetracted
                    } else if r.newly_found {
                        AlertKind::Rendezvous
                    } else {
                        continue;
                    };
                    for alert in Alert::of_rendezvous(r, event) {
                        log_alert(&alert);
                        alerts.push(alert);
                    }
                }
                _ => {}
            }
        }
        for key in touched {
            let Some(trip) = self.trips.get_mut(&key) else {
                continue;
            };
            if let Some(alert) = trip.next_alert() {
                log_alert(&alert);
                trip.sent = Some(alert.clone());
                alerts.push(alert);
            }
        }
        self.forget_old_trips();
        alerts
    }

    /// How many vessels are announced dark now.
    pub fn dark_now(&self) -> usize {
        self.dark.len()
    }

    fn dark_or_back(&mut self, gap: &GapRecord) -> Option<Alert> {
        let key = gap.key();
        let event = if gap.status == GapStatus::Open && gap.dark_now {
            self.dark.insert(key).then_some(AlertKind::DarkNow)?
        } else if gap.dark_until.is_some() {
            self.dark.remove(&key).then_some(AlertKind::Reappeared)?
        } else {
            return None;
        };
        let alert = Alert::of(event, gap);
        log_alert(&alert);
        Some(alert)
    }

    /// Keeps the latest state of a gap that is, or was, a trip; its key if so.
    fn follow(&mut self, gap: &GapRecord) -> Option<GapKey> {
        let key = gap.key();
        let latest = Alert::of(AlertKind::Trip, gap);
        match self.trips.get_mut(&key) {
            Some(trip) => trip.latest = latest,
            None if gap.status == GapStatus::Trip => {
                self.trips.insert(key, TripState { latest, sent: None });
            }
            None => return None,
        }
        Some(key)
    }

    fn forget_old_trips(&mut self) {
        let Some(clock) = self.clock else { return };
        let horizon = clock.as_millis() - FOLLOW_TRIPS_MS;
        self.trips.retain(|_, trip| {
            let ended = trip.latest.dark_until.unwrap_or(trip.latest.dark_from);
            ended.as_millis() >= horizon
        });
    }

    /// Adds what was announced to a serialised engine checkpoint.
    pub fn save_into(&self, checkpoint: &mut serde_json::Value) {
        if let Some(object) = checkpoint.as_object_mut() {
            let saved = Saved {
                dark: self.dark.iter().copied().collect(),
                trips: self.trips.values().cloned().collect(),
            };
            object.insert(
                SAVED_AS.into(),
                serde_json::to_value(saved).expect("announcements always serialise"),
            );
        }
    }

    /// Remembers what a checkpoint says was announced; a checkpoint from before announcements
    /// were saved holds none.
    pub fn restore_from(&mut self, checkpoint: &str) -> Result<(), serde_json::Error> {
        let saved: SavedIn = serde_json::from_str(checkpoint)?;
        let saved = saved.announced.unwrap_or_default();
        self.dark = saved.dark.into_iter().collect();
        self.trips = saved.trips.into_iter().map(|t| (t.key(), t)).collect();
        Ok(())
    }
}

/// Every key of one vessel's gaps.
fn vessel_keys(mmsi: Mmsi) -> std::ops::RangeInclusive<GapKey> {
    (mmsi, UnixMillis(i64::MIN))..=(mmsi, UnixMillis(i64::MAX))
}

fn log_alert(alert: &Alert) {
    let message = match alert.event {
        AlertKind::DarkNow => "Vessel went dark near a port.",
        AlertKind::Reappeared => "Vessel reappeared.",
        AlertKind::Trip => "Trip tallied.",
        AlertKind::TripUpdated => "Trip evidence updated.",
        AlertKind::TripRetracted => "Trip retracted.",
        AlertKind::Encounter => "Encounter at sea confirmed.",
        AlertKind::Loitering => "Loitering at sea confirmed.",
        AlertKind::EncounterRetracted => "Encounter withdrawn by late data.",
        AlertKind::LoiteringRetracted => "Loitering withdrawn by late data.",
        AlertKind::Rendezvous => "Dark rendezvous possible.",
        AlertKind::RendezvousRetracted => "Dark rendezvous withdrawn.",
    };
    tracing::info!(
        mmsi = alert.mmsi,
        name = alert.name.as_deref().unwrap_or(""),
        imo = alert.imo.unwrap_or(0),
        port = alert.port.as_deref().unwrap_or(""),
        status = alert.status.map_or("", GapStatus::as_str),
        dark_from = %alert.dark_from,
        dark_until = %alert.dark_until.map_or_else(String::new, |t| t.to_string()),
        hours = format_args!("{:.1}", alert.duration_hours),
        confidence = alert.confidence.map_or("", |c| c.as_str()),
        est_barrels = alert.est_barrels.unwrap_or(0.0),
        revision = alert.revision,
        "{message}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Confidence;

    const HOUR: i64 = 3_600_000;

    fn gap(status: GapStatus, until: Option<i64>) -> GapRecord {
        GapRecord {
            mmsi: Mmsi(445_000_001),
            segment: crate::track::FIRST_SEGMENT,
            imo: Some(8_372_538),
            name: Some("CHON MA SAN".into()),
            callsign: None,
            ship_type: Some(80),
            status,
            watched: true,
            port: Some("Vostochny".into()),
            dark_from: UnixMillis(1_709_856_000_000),
            dark_until: until.map(|h| UnixMillis(1_709_856_000_000 + h * HOUR)),
            from_lat: 42.7,
            from_lon: 133.1,
            until_lat: until.map(|_| 42.8),
            until_lon: until.map(|_| 133.0),
            duration_hours: until.unwrap_or(20) as f64,
            distance_nm: None,
            implied_speed_kn: None,
            detour_nm: None,
            slack_hours: None,
            coverage: Some(0.9),
            dark_now: status == GapStatus::Open,
            draught_before: Some(5.0),
            draught_after: None,
            draught_change: None,
            identity_changes: Vec::new(),
            est_tonnes: None,
            est_barrels: None,
            confidence: Some(Confidence::Medium),
            candidates: Vec::new(),
            last_open_call: None,
        }
    }

    fn events(alerts: &[Alert]) -> Vec<(AlertKind, u32)> {
        alerts.iter().map(|a| (a.event, a.revision)).collect()
    }

    #[test]
    fn a_trip_is_announced_updated_with_its_evidence_and_retracted_when_withdrawn() {
        let mut announcer = Announcer::default();
        let open = gap(GapStatus::Open, None);
        let trip = gap(GapStatus::Trip, Some(30));
        let said = announcer.announce(&[Change::Gap(Box::new(open.clone()))]);
        assert_eq!(events(&said), [(AlertKind::DarkNow, 0)]);
        // Swept again while still dark: nothing new.
        assert!(announcer
            .announce(&[Change::Gap(Box::new(open))])
            .is_empty());
        let said = announcer.announce(&[Change::Gap(Box::new(trip.clone()))]);
        assert_eq!(
            events(&said),
            [(AlertKind::Reappeared, 0), (AlertKind::Trip, 1)]
        );
        // The same record again says nothing; new evidence is an update with it.
        assert!(announcer
            .announce(&[Change::Gap(Box::new(trip.clone()))])
            .is_empty());
        let mut laden = trip.clone();
        laden.draught_after = Some(7.5);
        laden.est_barrels = Some(20_000.0);
        laden.confidence = Some(Confidence::High);
        let said = announcer.announce(&[Change::Gap(Box::new(laden))]);
        assert_eq!(events(&said), [(AlertKind::TripUpdated, 2)]);
        assert_eq!(said[0].est_barrels, Some(20_000.0));
        assert_eq!(said[0].confidence, Some(Confidence::High));
        let mut withdrawn = trip;
        withdrawn.status = GapStatus::Withdrawn;
        let said = announcer.announce(&[Change::Gap(Box::new(withdrawn))]);
        assert_eq!(events(&said), [(AlertKind::TripRetracted, 3)]);
        assert_eq!(said[0].status, Some(GapStatus::Withdrawn));
    }

    #[test]
    fn a_commit_announces_the_final_state_of_a_trip_once() {
        let mut announcer = Announcer::default();
        let trip = gap(GapStatus::Trip, Some(30));
        let mut laden = trip.clone();
        laden.est_barrels = Some(9_000.0);
        let said = announcer.announce(&[Change::Gap(Box::new(trip)), Change::Gap(Box::new(laden))]);
        assert_eq!(events(&said), [(AlertKind::Trip, 1)]);
        assert_eq!(said[0].est_barrels, Some(9_000.0));
    }

    #[test]
    fn a_vessel_that_becomes_watched_has_its_earlier_trip_announced_and_unwatched_retracted() {
        let mut announcer = Announcer::default();
        let mut trip = gap(GapStatus::Trip, Some(30));
        trip.watched = false;
        assert!(announcer
            .announce(&[Change::Gap(Box::new(trip.clone()))])
            .is_empty());
        let watched = |watched| Change::Watched {
            mmsi: trip.mmsi,
            watched,
        };
        assert_eq!(
            events(&announcer.announce(&[watched(true)])),
            [(AlertKind::Trip, 1)]
        );
        assert_eq!(
            events(&announcer.announce(&[watched(false)])),
            [(AlertKind::TripRetracted, 2)]
        );
    }

    #[test]
    fn what_was_announced_survives_a_checkpoint() {
        let mut announcer = Announcer::default();
        let open = gap(GapStatus::Open, None);
        announcer.announce(&[Change::Gap(Box::new(open.clone()))]);
        let other = GapRecord {
            mmsi: Mmsi(445_000_002),
            ..gap(GapStatus::Trip, Some(30))
        };
        announcer.announce(&[Change::Gap(Box::new(other.clone()))]);
        let mut checkpoint = serde_json::json!({ "engine": "state" });
        announcer.save_into(&mut checkpoint);
        let mut restored = Announcer::default();
        restored.restore_from(&checkpoint.to_string()).unwrap();
        assert_eq!(restored.dark_now(), 1);
        assert!(restored
            .announce(&[Change::Gap(Box::new(open)), Change::Gap(Box::new(other))])
            .is_empty());
        // A checkpoint from before announcements were saved restores to nothing said.
        let mut fresh = Announcer::default();
        fresh.restore_from(r#"{"engine": "state"}"#).unwrap();
        assert_eq!(fresh.dark_now(), 0);
    }

    #[test]
    fn trips_past_the_horizon_are_forgotten() {
        let mut announcer = Announcer::default();
        let trip = gap(GapStatus::Trip, Some(30));
        announcer.announce(&[Change::Gap(Box::new(trip.clone()))]);
        let later = trip.dark_until.unwrap().as_millis() + FOLLOW_TRIPS_MS + HOUR;
        announcer.announce(&[Change::Clock(UnixMillis(later))]);
        assert!(announcer.trips.is_empty());
    }

    #[test]
    fn a_dark_rendezvous_is_announced_to_each_watched_vessel_and_retracted_when_withdrawn() {
        use crate::detect::at_sea::{RendezvousParams, VesselAtSea};
        use crate::detect::rendezvous::{LegKind, PairRule, Rendezvous, RendezvousLeg};
        use crate::track::Identity;
        let leg = |mmsi: u32, lon: f64, until_h: i64| RendezvousLeg {
            vessel: VesselAtSea::of(Mmsi(mmsi), &Identity::default(), true),
            kind: LegKind::Gap,
            from: UnixMillis(0),
            from_lat: 41.0,
            from_lon: lon,
            until: UnixMillis(until_h * HOUR),
            until_lat: Some(41.0),
            until_lon: Some(lon),
            hours: until_h as f64,
            idle_area: None,
        };
        let params = RendezvousParams::default();
        let rule = PairRule {
            params: &params,
            min_feed_share: 0.0,
        };
        let ports = crate::ports::Ports::from([]);
        let mut detector = Rendezvous::default();
        let mut found = Vec::new();
        detector.on_leg(rule, &ports, leg(445_000_001, 134.0, 10), &mut found);
        detector.on_leg(rule, &ports, leg(273_000_001, 134.5, 10), &mut found);
        detector.on_leg(rule, &ports, leg(445_000_001, 134.0, 3), &mut found);
        let changes: Vec<Change> = found
            .into_iter()
            .map(|r| Change::Rendezvous(Box::new(r)))
            .collect();
        let alerts = Announcer::default().announce(&changes);
        let seen: Vec<(AlertKind, u32, Option<u32>)> = alerts
            .iter()
            .map(|a| (a.event, a.mmsi, a.partner_mmsi))
            .collect();
        assert_eq!(
            seen,
            [
                (AlertKind::Rendezvous, 273_000_001, Some(445_000_001)),
                (AlertKind::Rendezvous, 445_000_001, Some(273_000_001)),
                (
                    AlertKind::RendezvousRetracted,
                    273_000_001,
                    Some(445_000_001)
                ),
                (
                    AlertKind::RendezvousRetracted,
                    445_000_001,
                    Some(273_000_001)
                ),
            ]
        );
    }
}
