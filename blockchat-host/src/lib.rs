#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod calibrate;
pub mod client;
pub mod config;
pub mod cost;
pub mod effect;
pub mod host;
mod outbox;
pub mod seed;
mod timers;

pub use client::{Client, ClientStatus, Pace, Plan, Think};
pub use config::{HostConfig, Settings};
pub use cost::CostModel;
pub use effect::{Effect, Input, LineId, Notice, Persist};
pub use host::{Host, Stats};
