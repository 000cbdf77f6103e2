//! The one integration-test binary: each topic is a module under tests/integration/.

#[path = "integration/alerts.rs"]
mod alerts;
#[path = "integration/api.rs"]
mod api;
#[path = "integration/at_sea.rs"]
mod at_sea;
#[path = "integration/clock.rs"]
mod clock;
#[path = "integration/config.rs"]
mod config;
#[path = "integration/counts_by_type.rs"]
mod counts_by_type;
#[path = "integration/csv_map.rs"]
mod csv_map;
#[path = "integration/decode_corpora.rs"]
mod decode_corpora;
#[path = "integration/defaults.rs"]
mod defaults;
#[path = "integration/export.rs"]
mod export;
#[path = "integration/faults.rs"]
mod faults;
#[path = "integration/formats.rs"]
mod formats;
#[path = "integration/http_limits.rs"]
mod http_limits;
#[path = "integration/jsonl_records.rs"]
mod jsonl_records;
#[path = "integration/judgements.rs"]
mod judgements;
#[path = "integration/layout.rs"]
mod layout;
#[path = "integration/live_clocks.rs"]
mod live_clocks;
#[path = "integration/live_provenance.rs"]
mod live_provenance;
#[path = "integration/order.rs"]
mod order;
#[path = "integration/ports_scale.rs"]
mod ports_scale;
#[path = "integration/real_clocks.rs"]
mod real_clocks;
#[path = "integration/receptions.rs"]
mod receptions;
#[path = "integration/reload.rs"]
mod reload;
#[path = "integration/replay_reuse.rs"]
mod replay_reuse;
#[path = "integration/report_encounter.rs"]
mod report_encounter;
#[path = "integration/report_trip.rs"]
mod report_trip;
#[path = "integration/resume.rs"]
mod resume;
#[path = "integration/scenario.rs"]
mod scenario;
#[path = "integration/segments.rs"]
mod segments;
#[path = "integration/service.rs"]
mod service;
#[path = "integration/simulate.rs"]
mod simulate;
#[path = "integration/sources.rs"]
mod sources;
#[path = "integration/split.rs"]
mod split;
#[path = "integration/store_writes.rs"]
mod store_writes;
#[path = "integration/stored_data.rs"]
mod stored_data;
#[path = "integration/support.rs"]
mod support;
#[path = "integration/tally_report.rs"]
mod tally_report;
#[path = "integration/udp_drops.rs"]
mod udp_drops;
#[path = "integration/visits.rs"]
mod visits;
#[path = "integration/webhooks.rs"]
mod webhooks;
