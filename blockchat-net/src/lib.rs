#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod command;
pub mod control;
pub mod driver;
pub mod handshake;
pub mod measure;
pub mod peer;
pub mod render;
pub mod repl;
pub mod roster;
pub mod run;
pub mod storage;
pub mod views;
pub mod wire;
pub mod workload;
