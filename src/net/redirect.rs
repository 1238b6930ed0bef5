//! The redirect policy of every client: a credential never follows a redirect to another origin.
//!
//! reqwest follows up to ten redirects by default and strips `Authorization` only when the host
//! changes from one hop to the next, so a custom header (`X-Api-Key`, `PRIVATE-TOKEN`) would
//! travel to any origin a server names, and a second hop can bring a request back with its
//! headers. ferry decides here instead, for every client:
//!
//! - a request that carries a credential (one to the credential's origin) follows redirects
//!   within that origin only; a redirect elsewhere is an error naming the URL
//!   ([`RedirectRefused`]), never followed;
//! - a request without a credential (an absolute URL on another origin, such as a pre-signed
//!   log URL) may follow redirects anywhere;
//! - at most [`MAX_REDIRECTS`] hops, so a loop ends;
//! - clients whose redirect statuses carry meaning (Jenkins answers a trigger with 303 and the
//!   queue item in `Location`) follow none ([`Redirects::Never`]).

use url::{Origin, Url};

/// The most redirects one request follows.
pub(crate) const MAX_REDIRECTS: usize = 10;

/// How a client treats redirects.
#[derive(Clone, Debug)]
pub(crate) enum Redirects {
    /// Never followed: the caller reads the 3xx answer itself.
    Never,
    /// Followed, except that a request to this origin (where the credential goes) never leaves
    /// it.
    KeepCredential(Origin),
}

impl Redirects {
    /// The reqwest policy that enforces this.
    pub(crate) fn policy(&self) -> reqwest::redirect::Policy {
        match self {
            Redirects::Never => reqwest::redirect::Policy::none(),
            Redirects::KeepCredential(origin) => {
                let origin = origin.clone();
                reqwest::redirect::Policy::custom(move |attempt| {
                    let Some(first) = attempt.previous().first().cloned() else {
                        return attempt.follow();
                    };
                    let carries = first.origin() == origin;
                    if carries && attempt.url().origin() != origin {
                        let to = attempt.url().clone();
                        return attempt.error(RedirectRefused { from: first, to });
                    }
                    if attempt.previous().len() >= MAX_REDIRECTS {
                        let to = attempt.url().clone();
                        return attempt.error(TooManyRedirects { to });
                    }
                    attempt.follow()
                })
            }
        }
    }
}

/// A redirect that would have carried a credential to another origin.
#[derive(Debug)]
pub(crate) struct RedirectRefused {
    /// The URL the request was sent to.
    pub from: Url,
    /// Where the server redirected it.
    pub to: Url,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the answer redirects to {}, another origin than {}; ferry does not follow it, \
             because the request carries the credential",
            self.to,
            self.from.origin().ascii_serialization()
        )
    }
}

impl std::error::Error for RedirectRefused {}

impl RedirectRefused {
    /// The refusal inside a reqwest error, if that is what stopped the request.
    pub(crate) fn find(e: &reqwest::Error) -> Option<&RedirectRefused> {
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(r) = s.downcast_ref::<RedirectRefused>() {
                return Some(r);
            }
            source = s.source();
        }
        None
    }
}

/// A redirect chain longer than [`MAX_REDIRECTS`] (a loop).
#[derive(Debug)]
struct TooManyRedirects {
    to: Url,
}

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "more than {MAX_REDIRECTS} redirects (the last to {}): a redirect loop",
            self.to
        )
    }
}

impl std::error::Error for TooManyRedirects {}
