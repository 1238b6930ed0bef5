//! Context detection over real CI payloads and documented variables.
