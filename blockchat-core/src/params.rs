//! The network's parameters: the rules every node of one network must share, chosen once at
//! bootstrap and committed in the genesis block (its first transaction records them, so the
//! genesis hash names them too).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::amount::UNITS_PER_BCC;
use crate::time::Time;

/// BCC each account starts with in the course's setting.
pub const COURSE_START_BCC: u64 = 1_000;
/// The round timeout of the course's setting.
pub const DEFAULT_ROUND_TIMEOUT: Duration = Duration::from_secs(2);
/// Blocks a reorganisation may undo by default.
pub const DEFAULT_MAX_REORG_DEPTH: u64 = 64;
/// The partial-block interval a deployed network uses unless told otherwise.
pub const DEPLOYED_BLOCK_INTERVAL: Duration = Duration::from_secs(1);
/// First words of the genesis record, naming its format.
const RECORD_PREFIX: &str = "blockchat-network-v1";

/// Rules every node of one network must share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkParams {
    /// Transactions per block.
    pub capacity: usize,
    /// When set, blocks may hold 1..=capacity transactions and a validator mints a partial block
    /// once its oldest pending transaction has waited this long, or nothing new has arrived for
    /// a quarter of it ([`NetworkParams::quiet_interval`]). Off in the course.
    pub max_block_interval: Option<Duration>,
    /// How long the expected validator has before the next round's draw; a round-r block's
    /// timestamp must be at least its parent's plus r round timeouts.
    pub round_timeout: Duration,
    /// How many blocks a reorganisation may undo; blocks deeper than this are final.
    pub max_reorg_depth: u64,
    /// Units every account holds at genesis.
    pub initial_balance: u64,
}

/// Why a set of network parameters is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamsError {
    /// A capacity of zero.
    #[error("the block capacity must be at least 1")]
    ZeroCapacity,
    /// A capacity above what a block may carry.
    #[error("the block capacity {capacity} is above the maximum {max}")]
    CapacityTooLarge {
        /// The capacity given.
        capacity: usize,
        /// The largest allowed.
        max: usize,
    },
    /// A round timeout below one millisecond or not a whole number of milliseconds.
    #[error("the round timeout must be a whole number of milliseconds, at least 1 (got {nanos} ns)")]
    RoundTimeout {
        /// The timeout given, in nanoseconds.
        nanos: u128,
    },
    /// A block interval below one millisecond or not a whole number of milliseconds.
    #[error("the block interval must be a whole number of milliseconds, at least 1 (got {nanos} ns)")]
    BlockInterval {
        /// The interval given, in nanoseconds.
        nanos: u128,
    },
    /// A reorganisation depth of zero.
    #[error("the reorganisation depth must be at least 1")]
    ZeroReorgDepth,
    /// An initial balance of zero.
    #[error("the initial balance must be positive")]
    ZeroInitialBalance,
    /// The genesis record is not in the canonical format.
    #[error("the genesis parameter record is not canonical: {0}")]
    Record(&'static str),
}

impl NetworkParams {
    /// With partial blocks, how long a validator's pool may go without a new arrival before it
    /// mints what it holds: a quarter of the block interval, so the end of a burst does not wait
    /// the whole interval.
    pub fn quiet_interval(&self) -> Option<Duration> {
        self.max_block_interval.map(|i| i / 4)
    }

    /// The course's rules for blocks of `capacity`: full blocks only, 2 s rounds, 64-block
    /// reorganisations, 1,000 BCC each.
    pub fn new(capacity: usize) -> NetworkParams {
        NetworkParams {
            capacity,
            max_block_interval: None,
            round_timeout: DEFAULT_ROUND_TIMEOUT,
            max_reorg_depth: DEFAULT_MAX_REORG_DEPTH,
            initial_balance: COURSE_START_BCC * UNITS_PER_BCC,
        }
    }

    /// The same rules with partial blocks after `interval` (or strict full blocks with `None`).
    pub fn with_block_interval(self, interval: Option<Duration>) -> NetworkParams {
        NetworkParams { max_block_interval: interval, ..self }
    }

    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), ParamsError> {
        let whole_ms = |d: Duration| d >= Duration::from_millis(1) && d.subsec_nanos().is_multiple_of(1_000_000);
        if self.capacity == 0 {
            return Err(ParamsError::ZeroCapacity);
        }
        if self.capacity > crate::block::MAX_BLOCK_TRANSACTIONS {
            return Err(ParamsError::CapacityTooLarge {
                capacity: self.capacity,
                max: crate::block::MAX_BLOCK_TRANSACTIONS,
            });
        }
        if !whole_ms(self.round_timeout) {
            return Err(ParamsError::RoundTimeout { nanos: self.round_timeout.as_nanos() });
        }
        if let Some(i) = self.max_block_interval.filter(|i| !whole_ms(*i)) {
            return Err(ParamsError::BlockInterval { nanos: i.as_nanos() });
        }
        if self.max_reorg_depth == 0 {
            return Err(ParamsError::ZeroReorgDepth);
        }
        if self.initial_balance == 0 {
            return Err(ParamsError::ZeroInitialBalance);
        }
        Ok(())
    }

    /// The earliest timestamp a block of `round` may carry after a parent stamped `parent`.
    pub fn earliest(&self, parent: Time, round: u32) -> Time {
        parent + self.round_timeout.saturating_mul(round)
    }

    /// Fewest and most transactions a valid block holds.
    pub fn block_size(&self) -> (usize, usize) {
        match self.max_block_interval {
            Some(_) => (1, self.capacity),
            None => (self.capacity, self.capacity),
        }
    }

    /// The canonical text recorded in the genesis block, e.g. `blockchat-network-v1 capacity=5
    /// round_timeout_ms=2000 max_block_interval_ms=none max_reorg_depth=64
    /// initial_balance=1000000000`.
    pub fn record(&self) -> String {
        let interval = match self.max_block_interval {
            Some(i) => i.as_millis().to_string(),
            None => "none".to_string(),
        };
        format!(
            "{RECORD_PREFIX} capacity={} round_timeout_ms={} max_block_interval_ms={interval} max_reorg_depth={} initial_balance={}",
            self.capacity,
            self.round_timeout.as_millis(),
            self.max_reorg_depth,
            self.initial_balance
        )
    }

    /// Reads the genesis record back; only the canonical text of valid parameters is accepted.
    pub fn from_record(text: &str) -> Result<NetworkParams, ParamsError> {
        let mut words = text.split(' ');
        if words.next() != Some(RECORD_PREFIX) {
            return Err(ParamsError::Record("it does not start with blockchat-network-v1"));
        }
        let mut field = |name: &'static str| -> Result<&str, ParamsError> {
            let word = words.next().ok_or(ParamsError::Record("a field is missing"))?;
            word.strip_prefix(name)
                .and_then(|w| w.strip_prefix('='))
                .ok_or(ParamsError::Record("fields are not in the canonical order"))
        };
        let number = |s: &str| s.parse::<u64>().map_err(|_| ParamsError::Record("a value is not a number"));
        let capacity = number(field("capacity")?)? as usize;
        let round_timeout = Duration::from_millis(number(field("round_timeout_ms")?)?);
        let max_block_interval = match field("max_block_interval_ms")? {
            "none" => None,
            ms => Some(Duration::from_millis(number(ms)?)),
        };
        let max_reorg_depth = number(field("max_reorg_depth")?)?;
        let initial_balance = number(field("initial_balance")?)?;
        let params = NetworkParams { capacity, max_block_interval, round_timeout, max_reorg_depth, initial_balance };
        params.validate()?;
        if params.record() != text {
            return Err(ParamsError::Record("it differs from the canonical text of its values"));
        }
        Ok(params)
    }
}

impl fmt::Display for NetworkParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blocks = match self.max_block_interval {
            Some(i) => format!("partial blocks after {} ms", i.as_millis()),
            None => "full blocks only".to_string(),
        };
        write!(
            f,
            "capacity {}, {blocks}, round timeout {} ms, reorganisations up to {} blocks, {} BCC each",
            self.capacity,
            self.round_timeout.as_millis(),
            self.max_reorg_depth,
            crate::amount::format_bcc(self.initial_balance)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_only_canonical_text_parses() {
        let course = NetworkParams::new(5);
        assert_eq!(
            course.record(),
            "blockchat-network-v1 capacity=5 round_timeout_ms=2000 max_block_interval_ms=none max_reorg_depth=64 initial_balance=1000000000"
        );
        let deployed = NetworkParams::new(20).with_block_interval(Some(DEPLOYED_BLOCK_INTERVAL));
        for p in [course, deployed] {
            assert_eq!(NetworkParams::from_record(&p.record()), Ok(p));
        }
        let good = course.record();
        let cases = [
            good.replace("v1", "v2"),
            good.replace("capacity=5", "capacity=05"),
            good.replace("capacity=5", "capacity=0"),
            good.replace(" max_reorg_depth=64", ""),
            good.replace("round_timeout_ms=2000", "round_timeout_ms=x"),
            format!("{good} extra=1"),
            good.replace("capacity=5 round_timeout_ms=2000", "round_timeout_ms=2000 capacity=5"),
        ];
        for text in cases {
            assert!(NetworkParams::from_record(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn validation_table() {
        let p = NetworkParams::new(5);
        let cases = [
            (NetworkParams { capacity: 0, ..p }, ParamsError::ZeroCapacity),
            (
                NetworkParams { round_timeout: Duration::from_micros(1500), ..p },
                ParamsError::RoundTimeout { nanos: 1_500_000 },
            ),
            (NetworkParams { round_timeout: Duration::ZERO, ..p }, ParamsError::RoundTimeout { nanos: 0 }),
            (p.with_block_interval(Some(Duration::ZERO)), ParamsError::BlockInterval { nanos: 0 }),
            (NetworkParams { max_reorg_depth: 0, ..p }, ParamsError::ZeroReorgDepth),
            (NetworkParams { initial_balance: 0, ..p }, ParamsError::ZeroInitialBalance),
        ];
        for (params, want) in cases {
            assert_eq!(params.validate(), Err(want));
        }
        assert_eq!(p.validate(), Ok(()));
    }
}
