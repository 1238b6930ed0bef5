//! The one integration-test binary: library-level and end-to-end tests of the real `ferry` binary.

mod context;
mod report;
mod sim;
