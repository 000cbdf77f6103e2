//! The engine a configuration describes, made and remade in one place (here, as the engine
//! itself never names the configuration): a setting read from another section than
//! `[detect]` (the copy window is `[decode] duplicate_window_s`) cannot be left out by one of
//! the replay's, the service's or a reload's ways of making one.

use super::Config;
use crate::engine::partition::Partition;
use crate::engine::Engine;

impl Engine {
    /// A fresh engine with `config`'s rules, tracking the vessels of `partition`.
    pub fn configured(config: &Config, partition: Partition) -> Engine {
        let mut engine = if partition == Partition::WHOLE {
            Engine::new(
                config.detect.clone(),
                config.ports.clone(),
                config.watchlist.clone(),
                config.store.track_interval_minutes,
            )
        } else {
            Engine::partitioned(
                config.detect.clone(),
                config.ports.clone(),
                config.watchlist.clone(),
                config.store.track_interval_minutes,
                partition,
            )
        };
        engine.set_copy_window_ms(config.decode.duplicate_window_ms());
        engine
    }

    /// Takes `config`'s rules, keeping every vessel, gap and count (see
    /// [`Engine::reconfigure`]).
    pub fn reconfigure_to(&mut self, config: &Config) {
        self.reconfigure(
            config.detect.clone(),
            config.ports.clone(),
            config.watchlist.clone(),
            config.store.track_interval_minutes,
        );
        self.set_copy_window_ms(config.decode.duplicate_window_ms());
    }
}
