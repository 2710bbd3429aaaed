pub mod accounts;
pub mod operator;
pub mod second_factor;
pub mod session;
