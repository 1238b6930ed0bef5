//! The simulated platform, driven over HTTP as ferry and the tests see it.
