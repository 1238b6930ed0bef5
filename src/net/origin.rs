//! Where a credential may travel: over https, or over plain http to a loopback address (the
//! simulators and fakes of the tests, a port-forward on the developer's machine).

use url::Url;

/// True for loopback hosts, where plain http may carry a token.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// True when a credential may be sent to `url`: https, or plain http to a loopback address.
pub(crate) fn credential_may_travel(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        for (url, ok) in [
            ("https://gitlab.example.com/api/v4", true),
            ("http://127.0.0.1:8080/api/v4", true),
            ("http://[::1]:8080/api/v4", true),
            ("http://localhost/api/v4", true),
            ("http://gitlab.example.com/api/v4", false),
            ("http://10.0.0.1/api/v4", false),
            ("ftp://gitlab.example.com/api/v4", false),
        ] {
            assert_eq!(
                credential_may_travel(&Url::parse(url).unwrap()),
                ok,
                "{url}"
            );
        }
    }
}
