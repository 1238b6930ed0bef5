//! The presets (`[platform] preset = "<name>"`) run end to end by the real binary against the
//! simulator's dialects, every request checked against the platform's official description.

mod heroku;
