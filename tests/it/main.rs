//! The one integration-test binary: library-level and end-to-end tests of the real `ferry` binary.

mod action;
mod argocd;
mod bad_input;
mod commands;
mod context;
mod deploy;
mod docs;
mod github;
mod gitlab;
mod gitlab_ci_local;
mod hosted_sim;
mod hosted_sim_b;
mod hostile;
mod hostile_input;
mod jenkins;
mod log_shapes;
mod log_volume;
mod platforms;
mod presets;
mod report;
mod request_shapes;
mod secrets;
mod settings;
mod shapes;
mod sim;
mod support;
