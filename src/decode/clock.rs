//! One clock per source: which of the time carriers a line can have (tag block `c:`, leading
//! column, trailing epoch, `$PGHP`, the last `$GPZDA` / `$GPRMC`) times a source's messages,
//! the receiver time sentences that carry a clock between untimed lines, and the counts of what
//! timed each message and what stayed untimed.
//!
//! The rule: the first message that has any carrier settles the source's clock, the carrier
//! that ranks first among those it has (the order of [`Carrier`]). From then on every message
//! of the source is timed by that carrier alone; another carrier a message also has is ignored
//! and counted, and a message without the source's carrier is left untimed (or, live, timed by
//! its receive time moved back by how far the source's clock lags its receive times) and
//! counted. A log whose clocks disagree (a satellite log with `$PGHP`
//! satellite times before some sentences and the ground receive epoch after every one) is
//! thereby timed by one clock, so no late fix comes from switching between them.

use serde::Serialize;

use crate::decode::nmea::{hex_byte, xor_checksum};
use crate::decode::tagblock::parse_u64;
use crate::time::UnixMillis;

/// A time carrier, in precedence order: carriers written on the message's own line for that
/// one message first, then `$PGHP` (one line per message, but only where the server adds it),
/// then time sentences (one clock shared by the lines that follow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// NMEA 4.10 tag block `c:`.
    TagBlock,
    /// A timestamp column before the sentence.
    LeadingColumn,
    /// A Unix time after the sentence's checksum (libais, USCG NAIS, exactEarth ground time).
    TrailingEpoch,
    /// A Gatehouse `$PGHP` line naming the message.
    Gatehouse,
    /// The last `$xxZDA` / `$xxRMC` of the source, while fresh.
    TimeSentence,
}

impl Carrier {
    pub const ALL: [Carrier; 5] = [
        Carrier::TagBlock,
        Carrier::LeadingColumn,
        Carrier::TrailingEpoch,
        Carrier::Gatehouse,
        Carrier::TimeSentence,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Carrier::TagBlock => "tag_block",
            Carrier::LeadingColumn => "leading_column",
            Carrier::TrailingEpoch => "trailing_epoch",
            Carrier::Gatehouse => "gatehouse",
            Carrier::TimeSentence => "time_sentence",
        }
    }
}

/// The times one message's carriers give, merged over its fragments (the first fragment's
/// win). `$PGHP` is matched when the message completes, so it is not here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Carriers {
    pub tag_block: Option<UnixMillis>,
    pub leading_column: Option<UnixMillis>,
    pub trailing_epoch: Option<UnixMillis>,
    pub time_sentence: Option<UnixMillis>,
    /// A time sentence was read but had gone stale by this message.
    pub time_sentence_stale: bool,
}

impl Carriers {
    pub fn absorb(&mut self, later: &Carriers) {
        self.tag_block = self.tag_block.or(later.tag_block);
        self.leading_column = self.leading_column.or(later.leading_column);
        self.trailing_epoch = self.trailing_epoch.or(later.trailing_epoch);
        if self.time_sentence.is_none() {
            self.time_sentence = later.time_sentence;
            self.time_sentence_stale |= later.time_sentence_stale;
        }
    }

    /// Any carrier's time, in precedence order: what ages a fragment group.
    pub fn any(&self) -> Option<UnixMillis> {
        self.tag_block
            .or(self.leading_column)
            .or(self.trailing_epoch)
            .or(self.time_sentence)
    }

    fn get(&self, carrier: Carrier, gatehouse: Option<UnixMillis>) -> Option<UnixMillis> {
        match carrier {
            Carrier::TagBlock => self.tag_block,
            Carrier::LeadingColumn => self.leading_column,
            Carrier::TrailingEpoch => self.trailing_epoch,
            Carrier::Gatehouse => gatehouse,
            Carrier::TimeSentence => self.time_sentence,
        }
    }
}

/// How messages were timed, and what stayed untimed. Counts messages (a multi-sentence message
/// once).
#[derive(Serialize, Default, Clone, Debug, PartialEq, Eq)]
pub struct ClockStats {
    pub timed_by_tag_block: u64,
    pub timed_by_leading_column: u64,
    pub timed_by_trailing_epoch: u64,
    pub timed_by_gatehouse: u64,
    pub timed_by_time_sentence: u64,
    /// Timed by the moment the line was received (live feeds), for want of the source's clock.
    pub timed_by_received: u64,
    /// Timed by the moment the line was received moved onto the source's clock (live lines
    /// without the carrier the rest of their source has).
    pub timed_by_received_on_source_clock: u64,
    /// Messages that also carried a time of their own other than the source's clock,
    /// ignored (a time sentence before them is not counted: it is not the message's own).
    pub other_carrier_ignored: u64,
    /// Messages decoded without any time: the engine drops them.
    pub untimed: u64,
    /// Of the untimed: the source's clock is time sentences and the last one was stale.
    pub untimed_stale_time_sentence: u64,
    /// `$xxZDA` / `$xxRMC` lines read and used as the source's time-sentence clock.
    pub time_sentences: u64,
    /// Time sentences with a bad checksum, a void fix (`RMC` status `V`) or bad date fields:
    /// not used.
    pub time_sentences_refused: u64,
    /// Sources whose first carrier turned out to time few of their messages and gave way to
    /// the one that times them (see [`SourceClock::resolve`]).
    #[serde(default)]
    pub carrier_revised: u64,
}

impl ClockStats {
    pub fn merge(&mut self, other: &ClockStats) {
        self.timed_by_tag_block += other.timed_by_tag_block;
        self.timed_by_leading_column += other.timed_by_leading_column;
        self.timed_by_trailing_epoch += other.timed_by_trailing_epoch;
        self.timed_by_gatehouse += other.timed_by_gatehouse;
        self.timed_by_time_sentence += other.timed_by_time_sentence;
        self.timed_by_received += other.timed_by_received;
        self.timed_by_received_on_source_clock += other.timed_by_received_on_source_clock;
        self.other_carrier_ignored += other.other_carrier_ignored;
        self.untimed += other.untimed;
        self.untimed_stale_time_sentence += other.untimed_stale_time_sentence;
        self.time_sentences += other.time_sentences;
        self.time_sentences_refused += other.time_sentences_refused;
        self.carrier_revised += other.carrier_revised;
    }

    /// Messages timed by each carrier, in precedence order.
    pub fn timed_by(&self) -> [(Carrier, u64); 5] {
        [
            (Carrier::TagBlock, self.timed_by_tag_block),
            (Carrier::LeadingColumn, self.timed_by_leading_column),
            (Carrier::TrailingEpoch, self.timed_by_trailing_epoch),
            (Carrier::Gatehouse, self.timed_by_gatehouse),
            (Carrier::TimeSentence, self.timed_by_time_sentence),
        ]
    }

    /// Messages timed by when their line was received: as it was, and moved onto the
    /// source's clock; by the names the summary and the metrics give them.
    pub fn timed_by_receipt(&self) -> [(&'static str, u64); 2] {
        [
            ("received", self.timed_by_received),
            (
                "received_on_source_clock",
                self.timed_by_received_on_source_clock,
            ),
        ]
    }

    fn slot(&mut self, carrier: Carrier) -> &mut u64 {
        match carrier {
            Carrier::TagBlock => &mut self.timed_by_tag_block,
            Carrier::LeadingColumn => &mut self.timed_by_leading_column,
            Carrier::TrailingEpoch => &mut self.timed_by_trailing_epoch,
            Carrier::Gatehouse => &mut self.timed_by_gatehouse,
            Carrier::TimeSentence => &mut self.timed_by_time_sentence,
        }
    }
}

/// A time sentence's clock, valid for the lines that follow it until it goes stale.
#[derive(Clone, Copy, Debug)]
struct TimeContext {
    time: UnixMillis,
    line: u64,
    received_at: Option<UnixMillis>,
}

/// One source's clock: the settled carrier and the last time sentence.
#[derive(Debug)]
pub struct SourceClock {
    settled: Option<Carrier>,
    /// The first messages after the clock settled, while the carrier may still give way.
    trial: Option<Trial>,
    context: Option<TimeContext>,
    max_lines: u64,
    max_age_ms: i64,
    lags: Lags,
}

/// A settled carrier on trial. The first message with a carrier settles the source's clock,
/// and which one that is depends on where the source starts: AMSA's log is timed by `$GPZDA`
/// lines, and one receiver's lines in it (5%) also end in a trailing epoch. Read from its
/// start, a `$GPZDA` comes first and times 16,963 messages; read from the middle (the second
/// half of the file, a feed joined late, a log split in two) a trailing epoch came first, and
/// 16,583 of its 17,000 messages stayed untimed. So for the first [`TRIAL_MESSAGES`] messages,
/// a carrier that times many messages the settled one cannot, while the settled one times
/// few, takes its place, once.
#[derive(Debug, Default)]
struct Trial {
    /// Messages of the trial seen.
    seen: u32,
    /// Messages the settled carrier timed.
    timed: u32,
    /// Messages the settled carrier could not time, by the carrier (in precedence order) that
    /// could.
    missed: [u32; 5],
}

/// Messages after the first during which the settled carrier may give way.
const TRIAL_MESSAGES: u32 = 1_000;

/// Messages the settled carrier must have missed, and another timed, before it gives way; and
/// how many times more than the settled one timed.
const GIVE_WAY_AFTER: u32 = 16;
const GIVE_WAY_RATIO: u32 = 4;

impl Trial {
    /// Counts one message; the carrier the source should now be timed by, if not `settled`.
    fn weigh(
        &mut self,
        settled: Carrier,
        carriers: &Carriers,
        gatehouse: Option<UnixMillis>,
    ) -> Option<Carrier> {
        self.seen += 1;
        if carriers.get(settled, gatehouse).is_some() {
            self.timed += 1;
            return None;
        }
        let (slot, other) = Carrier::ALL
            .into_iter()
            .enumerate()
            .find(|&(_, c)| c != settled && carriers.get(c, gatehouse).is_some())?;
        self.missed[slot] += 1;
        let missed = self.missed[slot];
        (missed >= GIVE_WAY_AFTER && missed > GIVE_WAY_RATIO * self.timed).then_some(other)
    }
}

/// How far a live source's own clock lags its receive times (receive time less data time,
/// ms) over its last few data-timed messages. A line without the source's carrier used to be
/// timed by its receive time as it is: on a feed whose data runs behind (a satellite relay
/// hours late, an archive read as a file), one such line moved the stream clock to now, every
/// vessel of the feed looked silent since, and their next fixes came late (the DMA stream
/// example read by `aisgap run`: 1,376 open and 1,325 withdrawn gaps, none in its replay).
#[derive(Debug, Default)]
struct Lags {
    recent: [i64; LAGS_KEPT],
    kept: usize,
    next: usize,
}

/// Lags kept: their median is the source's lag, so one message with a wrong clock among them
/// does not move it.
const LAGS_KEPT: usize = 5;

impl Lags {
    fn note(&mut self, lag_ms: i64) {
        self.recent[self.next] = lag_ms;
        self.next = (self.next + 1) % LAGS_KEPT;
        self.kept = (self.kept + 1).min(LAGS_KEPT);
    }

    fn median(&self) -> Option<i64> {
        if self.kept == 0 {
            return None;
        }
        let mut sorted = self.recent;
        let kept = &mut sorted[..self.kept];
        kept.sort_unstable();
        Some(kept[self.kept / 2])
    }
}

/// A receive time moved onto a source's clock that lags reception by `lag_ms`.
pub fn on_source_clock(received: UnixMillis, lag_ms: i64) -> UnixMillis {
    UnixMillis(received.as_millis().saturating_sub(lag_ms))
}

/// What timed one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    Data(Carrier, UnixMillis),
    Received(UnixMillis),
    /// The receive time less the source's lag ([`SourceClock::note_lag`]).
    ReceivedOnSourceClock(UnixMillis),
    Untimed,
}

impl SourceClock {
    /// A time sentence times at most `max_lines` lines after it, and (when lines carry their
    /// receive time) for at most `max_age_ms` of receive time.
    pub fn new(max_lines: u64, max_age_ms: i64) -> SourceClock {
        SourceClock {
            settled: None,
            trial: None,
            context: None,
            max_lines,
            max_age_ms,
            lags: Lags::default(),
        }
    }

    /// A message timed by the source's clock at `data` was received at `received` (live). A
    /// data clock ahead of the receive clock counts as no lag: a line is never moved past the
    /// moment it was received (with `max_ahead_of_receipt_s = 0` nothing else bounds it).
    pub fn note_lag(&mut self, data: UnixMillis, received: UnixMillis) {
        self.lags
            .note(received.as_millis().saturating_sub(data.as_millis()).max(0));
    }

    /// How far the source's clock lags its receive times, once data-timed live messages
    /// measured it.
    pub fn lag_ms(&self) -> Option<i64> {
        self.lags.median()
    }

    /// The carrier that times this source, once a message has settled it.
    pub fn settled(&self) -> Option<Carrier> {
        self.settled
    }

    /// A valid time sentence on line `line`.
    pub fn time_sentence(&mut self, time: UnixMillis, line: u64, received_at: Option<UnixMillis>) {
        self.context = Some(TimeContext {
            time,
            line,
            received_at,
        });
    }

    /// The time-sentence clock for a sentence on line `line`: `(time, stale)`.
    pub fn context_at(
        &self,
        line: u64,
        received_at: Option<UnixMillis>,
    ) -> (Option<UnixMillis>, bool) {
        let Some(c) = self.context else {
            return (None, false);
        };
        let too_many_lines = line.saturating_sub(c.line) > self.max_lines;
        let too_old = match (received_at, c.received_at) {
            (Some(now), Some(then)) => now.as_millis() - then.as_millis() > self.max_age_ms,
            _ => false,
        };
        if too_many_lines || too_old {
            (None, true)
        } else {
            (Some(c.time), false)
        }
    }

    /// Times one complete message by the source's rule; the first message with a carrier
    /// settles the source's clock, and during the [`Trial`] after it the carrier may give way
    /// once to one that times the source's messages where it cannot.
    pub fn resolve(
        &mut self,
        carriers: &Carriers,
        gatehouse: Option<UnixMillis>,
        received: Option<UnixMillis>,
    ) -> Resolution {
        let mut revised = false;
        match (self.settled, &mut self.trial) {
            (None, _) => {
                self.settled = Carrier::ALL
                    .into_iter()
                    .find(|&c| carriers.get(c, gatehouse).is_some());
                if self.settled.is_some() {
                    self.trial = Some(Trial::default());
                }
            }
            (Some(settled), Some(trial)) => {
                if let Some(other) = trial.weigh(settled, carriers, gatehouse) {
                    self.settled = Some(other);
                    self.trial = None;
                    revised = true;
                } else if trial.seen >= TRIAL_MESSAGES {
                    self.trial = None;
                }
            }
            (Some(_), None) => {}
        }
        let data = self
            .settled
            .and_then(|clock| carriers.get(clock, gatehouse).map(|t| (clock, t)));
        let timing = match (data, received) {
            (Some((clock, t)), _) => Timing::Data(clock, t),
            // A lag is only noted for data-timed messages, so a source with one has settled.
            (None, Some(t)) => match self.lags.median() {
                Some(lag) => Timing::ReceivedOnSourceClock(on_source_clock(t, lag)),
                None => Timing::Received(t),
            },
            (None, None) => Timing::Untimed,
        };
        let used = data.map(|(clock, _)| clock);
        Resolution {
            timing,
            // A time sentence is where the message stands in the log, not a time of its own:
            // counting it would make the count depend on line order, which replay must not.
            other_carrier: Carrier::ALL.into_iter().any(|c| {
                c != Carrier::TimeSentence
                    && Some(c) != used
                    && carriers.get(c, gatehouse).is_some()
            }),
            stale_time_sentence: self.settled == Some(Carrier::TimeSentence)
                && carriers.time_sentence_stale,
            revised,
        }
    }
}

/// How one message was timed, counted once the message decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub timing: Timing,
    /// The message had a carrier that is not the source's clock.
    pub other_carrier: bool,
    /// The source is timed by time sentences and the last one was stale.
    pub stale_time_sentence: bool,
    /// The source's carrier gave way to this message's.
    pub revised: bool,
}

impl ClockStats {
    /// Counts a decoded message's timing.
    pub fn count(&mut self, r: &Resolution) {
        match r.timing {
            Timing::Data(carrier, _) => *self.slot(carrier) += 1,
            Timing::Received(_) => self.timed_by_received += 1,
            Timing::ReceivedOnSourceClock(_) => self.timed_by_received_on_source_clock += 1,
            Timing::Untimed => {
                self.untimed += 1;
                self.untimed_stale_time_sentence += u64::from(r.stale_time_sentence);
            }
        }
        self.other_carrier_ignored += u64::from(r.other_carrier);
        self.carrier_revised += u64::from(r.revised);
    }
}

/// Why a time sentence was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSentenceError {
    BadChecksum,
    /// `RMC` status `V`: the receiver had no fix, its time is not to be trusted.
    Void,
    BadField,
}

/// Reads `$xxZDA,hhmmss.ss,dd,mm,yyyy,...` or `$xxRMC,hhmmss.ss,A,...,ddmmyy,...` (any
/// talker). `None` for any other sentence.
pub fn parse_time_sentence(line: &[u8]) -> Option<Result<UnixMillis, TimeSentenceError>> {
    let kind = line.get(3..6)?;
    if line.first() != Some(&b'$') || !matches!(kind, b"ZDA" | b"RMC") {
        return None;
    }
    Some(read_time_sentence(line, kind == b"ZDA"))
}

fn read_time_sentence(line: &[u8], zda: bool) -> Result<UnixMillis, TimeSentenceError> {
    let body_end = match line.iter().position(|&b| b == b'*') {
        Some(star) => {
            let stated = line.get(star + 1..).and_then(hex_byte);
            if stated != Some(xor_checksum(&line[1..star])) {
                return Err(TimeSentenceError::BadChecksum);
            }
            star
        }
        None => line.len(),
    };
    let fields: Vec<&[u8]> = line[..body_end].split(|&b| b == b',').collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or(&[]);
    let (day, month, year) = if zda {
        let year = number(field(4))?;
        (number(field(2))?, number(field(3))?, year)
    } else {
        if field(2) != b"A" {
            return Err(TimeSentenceError::Void);
        }
        let date = field(9);
        if date.len() != 6 {
            return Err(TimeSentenceError::BadField);
        }
        let yy = number(&date[4..6])?;
        let year = if yy < 80 { 2000 + yy } else { 1900 + yy };
        (number(&date[0..2])?, number(&date[2..4])?, year)
    };
    let time = field(1);
    if time.len() < 6 {
        return Err(TimeSentenceError::BadField);
    }
    let (hour, minute, second) = (
        number(&time[0..2])?,
        number(&time[2..4])?,
        number(&time[4..6])?,
    );
    let millis = match time.get(6) {
        Some(b'.') => {
            let frac = &time[7..];
            if !frac.iter().all(u8::is_ascii_digit) {
                return Err(TimeSentenceError::BadField);
            }
            (0..3).fold(0, |m, i| {
                m * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'))
            })
        }
        None => 0,
        Some(_) => return Err(TimeSentenceError::BadField),
    };
    UnixMillis::from_civil(i64::from(year), month, day, hour, minute, second, millis)
        .ok_or(TimeSentenceError::BadField)
}

fn number(digits: &[u8]) -> Result<u32, TimeSentenceError> {
    parse_u64(digits)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(TimeSentenceError::BadField)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lag is the median of the lags noted, at most the last [`LAGS_KEPT`]: with one,
    /// two and six noted (the oldest gone), and never negative.
    #[test]
    fn the_lag_is_the_median_of_the_last_five() {
        let mut clock = SourceClock::new(1000, 60_000);
        let noted = |clock: &mut SourceClock, lag: i64| {
            clock.note_lag(UnixMillis(1_000_000), UnixMillis(1_000_000 + lag));
            clock.lags.median()
        };
        assert_eq!(clock.lags.median(), None);
        assert_eq!(noted(&mut clock, 500), Some(500));
        assert_eq!(noted(&mut clock, 900), Some(900), "the upper of two");
        for lag in [100, 700, 300] {
            noted(&mut clock, lag);
        }
        // [500, 900, 100, 700, 300]: 500. A sixth pushes the 500 out: [900, 100, 700, 300, 50].
        assert_eq!(clock.lags.median(), Some(500));
        assert_eq!(noted(&mut clock, 50), Some(300));
        for _ in 0..3 {
            noted(&mut clock, -5_000);
        }
        assert_eq!(clock.lags.median(), Some(0), "a data clock ahead is no lag");
    }

    #[test]
    fn zda_and_rmc_give_date_and_time() {
        assert_eq!(
            parse_time_sentence(b"$GPZDA,114702.51,27,01,2012,,*66"),
            Some(Ok(
                UnixMillis::from_civil(2012, 1, 27, 11, 47, 2, 510).unwrap()
            ))
        );
        assert_eq!(
            parse_time_sentence(
                b"$GPRMC,213950.00,A,5250.53669,N,00542.34920,E,0.020,,070420,,,A*7D"
            ),
            Some(Ok(
                UnixMillis::from_civil(2020, 4, 7, 21, 39, 50, 0).unwrap()
            ))
        );
        assert_eq!(
            parse_time_sentence(b"$GPZDA,114702.51,27,01,2012,,*67"),
            Some(Err(TimeSentenceError::BadChecksum))
        );
        assert_eq!(
            parse_time_sentence(b"$GPRMC,213950.00,V,,,,,,,070420,,,N"),
            Some(Err(TimeSentenceError::Void))
        );
        assert_eq!(
            parse_time_sentence(b"$GPZDA,1147,27,01,2012,,"),
            Some(Err(TimeSentenceError::BadField))
        );
        assert_eq!(parse_time_sentence(b"$GPGGA,213950.00,5250.5"), None);
    }

    fn at(s: i64) -> Option<UnixMillis> {
        Some(UnixMillis::from_secs(s))
    }

    #[test]
    fn a_first_carrier_that_times_few_messages_gives_way_once() {
        // A log read from its middle: one receiver's line ends in an epoch before the first
        // time sentence, then the time sentences time every message, the epoch one in twenty.
        let mut clock = SourceClock::new(1000, 60_000);
        let mut stats = ClockStats::default();
        let epoch = Carriers {
            trailing_epoch: at(100),
            ..Carriers::default()
        };
        let sentence_only = Carriers {
            time_sentence: at(101),
            ..Carriers::default()
        };
        let mut timings = Vec::new();
        for carriers in [epoch].into_iter().chain(std::iter::repeat_n(
            sentence_only,
            GIVE_WAY_AFTER as usize + 3,
        )) {
            let r = clock.resolve(&carriers, None, None);
            stats.count(&r);
            timings.push(r.timing);
        }
        let given_way_at = GIVE_WAY_AFTER as usize;
        assert!(timings[1..given_way_at]
            .iter()
            .all(|t| *t == Timing::Untimed));
        assert!(timings[given_way_at..]
            .iter()
            .all(|t| *t == Timing::Data(Carrier::TimeSentence, UnixMillis::from_secs(101))));
        assert_eq!(clock.settled(), Some(Carrier::TimeSentence));
        assert_eq!(stats.carrier_revised, 1);
        // Once given way, for good: the epoch no longer times anything.
        for _ in 0..100 {
            stats.count(&clock.resolve(&epoch, None, None));
        }
        assert_eq!(clock.settled(), Some(Carrier::TimeSentence));
        assert_eq!(
            (stats.carrier_revised, stats.timed_by_trailing_epoch),
            (1, 1)
        );

        // A carrier that times a fair share of the messages keeps the source: an epoch on
        // every fourth message against the time sentences on the rest.
        let mut clock = SourceClock::new(1000, 60_000);
        for i in 0..2 * TRIAL_MESSAGES {
            let carriers = if i % 4 == 0 { epoch } else { sentence_only };
            assert!(!clock.resolve(&carriers, None, None).revised);
        }
        assert_eq!(clock.settled(), Some(Carrier::TrailingEpoch));
        // After the trial, nothing gives way whatever comes.
        for _ in 0..100 {
            assert!(!clock.resolve(&sentence_only, None, None).revised);
        }
        assert_eq!(clock.settled(), Some(Carrier::TrailingEpoch));
    }

    #[test]
    fn the_first_carrier_by_precedence_settles_the_clock_for_good() {
        let mut clock = SourceClock::new(1000, 60_000);
        let mut stats = ClockStats::default();
        let mut timed = |carriers: &Carriers, gatehouse, received| {
            let r = clock.resolve(carriers, gatehouse, received);
            stats.count(&r);
            r.timing
        };
        let both = Carriers {
            trailing_epoch: at(200),
            ..Carriers::default()
        };
        assert_eq!(
            timed(&both, at(100), None),
            Timing::Data(Carrier::TrailingEpoch, UnixMillis::from_secs(200))
        );
        // Later, a message with only the satellite time is not timed by it.
        let none = Carriers::default();
        assert_eq!(timed(&none, at(150), None), Timing::Untimed);
        assert_eq!(
            timed(&none, at(150), at(999)),
            Timing::Received(UnixMillis::from_secs(999))
        );
        assert_eq!(timed(&none, None, None), Timing::Untimed);
        assert_eq!(clock.settled(), Some(Carrier::TrailingEpoch));
        assert_eq!(
            (
                stats.timed_by_trailing_epoch,
                stats.other_carrier_ignored,
                stats.untimed,
                stats.timed_by_received
            ),
            (1, 3, 2, 1)
        );
    }

    #[test]
    fn a_time_sentence_goes_stale_after_its_line_budget_or_receive_age() {
        let mut clock = SourceClock::new(10, 60_000);
        clock.time_sentence(UnixMillis(5), 100, None);
        assert_eq!(clock.context_at(110, None), (Some(UnixMillis(5)), false));
        assert_eq!(clock.context_at(111, None), (None, true));
        clock.time_sentence(UnixMillis(5), 200, Some(UnixMillis(0)));
        assert_eq!(
            clock.context_at(201, Some(UnixMillis(60_000))),
            (Some(UnixMillis(5)), false)
        );
        assert_eq!(
            clock.context_at(201, Some(UnixMillis(60_001))),
            (None, true)
        );
    }
}
