//! One vocabulary for "may this request be sent again?".
//!
//! A request that failed in transit, or with a 5xx, may still have been carried out. Sending it
//! again is safe only when repeating it changes nothing (a read, setting the same status twice,
//! a trigger with an idempotency key the server honours). A request the server *refused* for a
//! rate limit (429, or GitHub's 403 with a rate-limit message) was not carried out, so it may be
//! sent again after the wait, whatever it is. Every client and the engine ask [`Replay`].

/// Whether a request may be sent again after a failure the server may have acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Repeating it changes nothing: reads, writes of the same value, idempotency keys.
    Safe,
    /// It may create something (a build, a deployment, a comment): sent again only after a
    /// rate-limit refusal.
    Never,
}

impl Replay {
    /// The usual answer for an HTTP method: `POST` may create, the others do not (`GET`, `HEAD`,
    /// `PUT` and `DELETE` are idempotent by RFC 9110; `PATCH` is not in general, so `Never`).
    pub fn of_method(method: &http::Method) -> Self {
        match *method {
            http::Method::GET
            | http::Method::HEAD
            | http::Method::OPTIONS
            | http::Method::PUT
            | http::Method::DELETE => Replay::Safe,
            _ => Replay::Never,
        }
    }

    /// True for [`Replay::Safe`].
    pub fn is_safe(self) -> bool {
        self == Replay::Safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_that_may_create_are_never_replayed() {
        assert_eq!(Replay::of_method(&http::Method::GET), Replay::Safe);
        assert_eq!(Replay::of_method(&http::Method::PUT), Replay::Safe);
        assert_eq!(Replay::of_method(&http::Method::DELETE), Replay::Safe);
        assert_eq!(Replay::of_method(&http::Method::POST), Replay::Never);
        assert_eq!(Replay::of_method(&http::Method::PATCH), Replay::Never);
    }
}
