//! One source's state in the service's pipeline: its decoder, the settings it was built
//! with, its line count and file position, and its recent fragments.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;
use crate::decode::feed::FeedDecoder;
use crate::decode::raw_message::RecentFragments;
use crate::decode::{DecodeOptions, DecodeStats};
use crate::source::{FileMark, SourceKind};

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
