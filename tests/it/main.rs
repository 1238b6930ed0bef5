//! The one integration-test binary: library-level and end-to-end tests of the real `ferry` binary.

mod context;
mod sim;
mod deploy;
mod support;
mod shapes;
mod bad_input;
mod secrets;
mod settings;
