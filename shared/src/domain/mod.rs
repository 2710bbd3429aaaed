mod account;
pub mod audit;

pub use account::*;
