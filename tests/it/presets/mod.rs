//! The presets (`[platform] preset = "<name>"`), each run end to end by the real binary against
//! its simulator dialect, every request checked against the platform's own description.

mod digitalocean;
mod heroku;
mod netlify;
mod render;
