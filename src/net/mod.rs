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

pub(crate) mod body;
pub(crate) mod client;
pub(crate) mod encode;
pub(crate) mod header;
pub(crate) mod origin;
pub(crate) mod redirect;
pub(crate) mod replay;
pub(crate) mod text;
pub(crate) mod url;
pub(crate) mod wait;

pub(crate) use body::{BodyError, read_limited, read_prefix};
pub(crate) use client::{ClientOptions, LazyClient, credential_client};
pub(crate) use encode::{PATH_SEGMENT, segment};
pub(crate) use header::secret_value;
pub(crate) use origin::credential_may_travel;
pub(crate) use redirect::{RedirectRefused, Redirects};
pub(crate) use replay::Replay;
pub(crate) use text::{error_chain, fit, shorten};
pub(crate) use url::{UrlSetting, base_url, require_secure};
pub(crate) use wait::{reset_wait, retry_after, retry_after_value, server_wait};
