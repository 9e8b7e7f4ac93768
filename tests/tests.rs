//! One integration binary (as ripgrep does): each topic file drives the real
//! `laketidy` binary on lakes written into fresh temp folders.

mod support;

mod bad_input;
mod cli;
mod compact;
mod concurrency;
mod ddl;
mod examples;
mod foreign;
mod json_output;
mod layouts;
mod maintain;
mod memory;
mod s3;
mod signals;
mod terminal;
