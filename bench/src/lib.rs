//! Support for `make bench`; see `benches/cpu.rs` and `src/bin/lambda-bench.rs`.

pub mod function;
pub mod routes;
