//! The simulated platform (placeholder).
