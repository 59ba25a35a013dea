//! Shared fixtures for GridSafe's cross-crate scenario tests and benchmarks.

pub mod balancer;
pub mod browser;
pub mod faults;
pub mod fixtures;
pub mod pg;
pub mod relay;
pub mod throttle;
