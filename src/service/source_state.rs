//! One source's state in the service's pipeline: its decoder, the settings it was built
//! with, its line count and file position, and its recent fragments (with the messages begun
//! and not complete at a commit, which a restart reads again).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::decode::feed::FeedDecoder;
use crate::decode::raw_message::RecentFragments;
use crate::decode::{DecodeOptions, DecodeStats};
use crate::service::raw_lines::RawMessage;
use crate::source::{FileMark, SourceKind};
use crate::time::UnixMillis;

/// One source's decoder and how many of its lines the engine has consumed (ever, across
/// restarts: the number a resuming feed starts after).
pub(super) struct SourceState {
    pub(super) decoder: FeedDecoder,
    /// What `decoder` was built with: a reload that changes it builds a new one.
    pub(super) options: DecodeOptions,
    /// Counts of the decoders a reload replaced, so that counters never go back.
    pub(super) retired: DecodeStats,
    pub(super) lines: u64,
    /// Decode counters already added to the store, by name.
    pub(super) counted: BTreeMap<String, u64>,
    /// For a file source: where its last consumed line ends, and that line's last bytes.
    pub(super) file: Option<(FileMark, Vec<u8>)>,
    /// A line of the file was consumed since the last commit.
    pub(super) file_moved: bool,
    /// The number evidence rows give this source, and whether the store has its name yet.
    pub(super) number: u32,
    pub(super) named: bool,
    /// Its recent lines that may open a message of several sentences.
    pub(super) fragments: RecentFragments,
}

impl SourceState {
    pub(super) fn new(options: DecodeOptions, name: Arc<str>) -> SourceState {
        let number = crate::store::provenance::source_number(&name);
        SourceState {
            decoder: FeedDecoder::new(options.clone(), name),
            options,
            retired: DecodeStats::default(),
            lines: 0,
            counted: BTreeMap::new(),
            file: None,
            file_moved: false,
            number,
            named: false,
            fragments: RecentFragments::default(),
        }
    }

    /// Everything this source's decoders counted, across reloads.
    pub(super) fn stats(&self) -> DecodeStats {
        let mut stats = self.retired.clone();
        stats.merge(&self.decoder.stats());
        stats
    }

    /// Decodes the next lines with `options`. A multi-sentence message half received is
    /// given up and counted as expired, as at the end of a file.
    pub(super) fn rebuild(&mut self, options: DecodeOptions, name: &Arc<str>) {
        let pending = self.decoder.pending_fragments();
        self.decoder.finish();
        self.retired = self.stats();
        self.decoder = FeedDecoder::new(options.clone(), name.clone());
        self.options = options;
        tracing::info!(source = %name, fragments_given_up = pending, "Decoder rebuilt with the reloaded settings.");
    }
}

/// The lines, read before a commit, of one source's messages begun and not complete then.
/// A commit waits a few intervals for no message to be half received, but a starved pipeline
/// can still commit between the fragments of one; the rest is read after the commit, so a
/// restart reads these again (counted once, before the commit) to complete the message as
/// an uninterrupted run does.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BegunMessages {
    pub(super) source: String,
    /// Each line's number in the source and its bytes.
    pub(super) lines: Vec<RawMessage>,
}

impl SourceState {
    /// The lines of this source's messages begun and not yet complete, oldest first; `None`
    /// when there are none.
    pub(super) fn begun_messages(&self, source: &str) -> Option<BegunMessages> {
        let mut lines: Vec<RawMessage> = Vec::new();
        for back in self.decoder.pending_fragments_begun_lines_back() {
            // A source that mixed CSV rows into its NMEA numbers its lines apart from the
            // decoder: no noted fragment opens a message there, and nothing is kept.
            let Some(number) = self.lines.checked_sub(back) else {
                continue;
            };
            for (line, text) in self.fragments.begun_at(number) {
                lines.push(RawMessage::new(line, text.to_vec()));
            }
        }
        lines.sort_by_key(|line| line.first_line);
        lines.dedup_by_key(|line| line.first_line);
        (!lines.is_empty()).then(|| BegunMessages {
            source: source.to_string(),
            lines,
        })
    }

    /// Reads again, as received at `received`, the lines of the messages begun at the last
    /// commit, so that their later fragments complete them; the counts they add were
    /// committed with them and are not added again.
    pub(super) fn read_begun_again(&mut self, lines: &[RawMessage], received: UnixMillis) {
        // An opening fragment yields no event; anything else was given to the engine before.
        let mut dropped = Vec::new();
        for line in lines {
            let text = line.bytes.as_bytes();
            self.decoder.decode_line(text, Some(received), &mut dropped);
            self.fragments.push(line.first_line, text);
        }
        self.counted = self.stats().counters().into_iter().collect();
    }
}

/// Saves, beside the engine checkpoint, the messages begun and not complete in `sources`.
pub(super) fn save_begun_messages<'a>(
    sources: impl Iterator<Item = (&'a Arc<str>, &'a SourceState)>,
    checkpoint: &mut serde_json::Value,
) {
    let begun: Vec<BegunMessages> = sources
        .filter_map(|(name, state)| state.begun_messages(name))
        .collect();
    if begun.is_empty() {
        return;
    }
    if let serde_json::Value::Object(map) = checkpoint {
        map.insert(
            "begun_messages".into(),
            serde_json::to_value(begun).expect("raw messages always serialise"),
        );
    }
}

/// The messages begun at the last commit, as [`save_begun_messages`] saved them in
/// `checkpoint`.
pub(super) fn begun_messages_of(checkpoint: &str) -> Result<Vec<BegunMessages>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Saved {
        #[serde(default)]
        begun_messages: Vec<BegunMessages>,
    }
    Ok(serde_json::from_str::<Saved>(checkpoint)?.begun_messages)
}

/// The decoder settings of the source `name` in `config` (a source no longer configured keeps
/// the defaults it would have had).
pub(super) fn decode_options_of(config: &Config, name: &Arc<str>) -> DecodeOptions {
    let spec = config.sources.iter().find(|s| s.name == *name);
    // A file source is a log on disk: without a station of its own it gets the one a replay
    // of the same file gets, its name without the extension.
    let station = spec.and_then(|s| match (&s.station, &s.kind) {
        (Some(station), _) => Some(station.clone()),
        (None, SourceKind::File { path, .. }) => path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned().into()),
        (None, _) => None,
    });
    let mut options = config.decode_options(station);
    options.trust_data_time = spec.is_none_or(|s| s.trust_data_time);
    options
}
