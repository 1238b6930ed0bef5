//! The network layer every HTTP client of ferry shares: the platform backends and the forge
//! clients (GitHub, GitLab) alike.
//!
//! It decides, in one place, what crosses the network and how: how a client is built (user agent,
//! time limits, [`redirect`] policy: a credential never follows a redirect to another origin),
//! where a credential may travel ([`origin`]: https, or plain http to a loopback address only),
//! how much of an answer is read ([`body`]: every body within a documented size, decoded or not),
//! how a value becomes one path segment ([`segment`]), whether a request may be sent again
//! ([`Replay`]), what wait a server asks for ([`server_wait`]:
//! `Retry-After` and the rate-limit reset headers), and how failures read ([`error_chain`],
//! [`shorten`]).
//!
//! It knows nothing of platforms, forges or reports, and never reads the environment.

pub mod body;
pub mod client;
pub mod encode;
pub mod origin;
pub mod redirect;
pub mod replay;
pub mod text;
pub mod url;
pub mod wait;

pub use body::{BodyError, read_limited, read_prefix};
pub use client::{ClientOptions, build_client};
pub use encode::{PATH_SEGMENT, segment};
pub use origin::{credential_may_travel, is_loopback};
pub use redirect::{RedirectRefused, Redirects};
pub use replay::Replay;
pub use text::{error_chain, shorten};
pub use url::{UrlSetting, base_url, require_secure};
pub use wait::{reset_wait, retry_after, retry_after_value, server_wait};
