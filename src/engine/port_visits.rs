//! How the engine feeds the port-visit tracker (calls made with AIS on) and passes on the
//! visits it records.

use super::{Change, Engine};
use crate::model::Fix;
use crate::time::UnixMillis;

impl Engine {
    pub(super) fn observe_visit(&mut self, fix: &Fix, time: UnixMillis) {
        let mut visits = Vec::new();
        let (params, gap_hours) = (&self.params.visits, self.params.gap_hours);
        let stats = &mut self.stats.visits;
        self.visits.observe(
            stats,
            params,
            gap_hours,
            &self.ports,
            fix,
            time,
            &mut visits,
        );
        self.changes
            .extend(visits.into_iter().map(|v| Change::Visit(Box::new(v))));
    }
}
