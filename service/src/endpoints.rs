//! Which base URLs a connection may send its secrets to. An operator on the command line may
//! point a connection anywhere (simulators and test instances on loopback included); a tenant
//! admin coming through the HTTP API may not send tokens to loopback, private or link-local
//! addresses, or over plain HTTP, unless the operator allows test endpoints.

use std::net::IpAddr;

/// The one setting that decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointPolicy {
    /// Any `http` or `https` URL (the operator's CLI; tests and simulators).
    AllowTestEndpoints,
    /// `https` on a public host name or address only.
    PublicHttpsOnly,
}

/// Checks one base URL against the policy; the error says what is wrong with it.
pub fn check(url: &str, policy: EndpointPolicy) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{} must not carry a user name or password",
            parsed.origin().ascii_serialization()
        ));
    }
    if policy == EndpointPolicy::AllowTestEndpoints {
        return Ok(());
    }
    if parsed.scheme() != "https" {
        return Err(format!("{url:?} must use https"));
    }
    let public = match parsed.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            let local = name == "localhost"
                || [".localhost", ".local", ".internal", ".home.arpa", ".lan"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
                || !name.contains('.');
            !local
        }
        Some(url::Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
        None => false,
    };
    if !public {
        return Err(format!(
            "{} is not a public address (loopback, private, link-local and local names are refused)",
            parsed.origin().ascii_serialization()
        ));
    }
    Ok(())
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EndpointPolicy::*;

    #[test]
    fn the_operator_may_use_test_endpoints() {
        assert!(check("http://127.0.0.1:8080", AllowTestEndpoints).is_ok());
        assert!(check("https://acme.service-now.com", AllowTestEndpoints).is_ok());
        assert!(check("ftp://acme.example", AllowTestEndpoints).is_err());
        assert!(check("https://user:pw@acme.example", AllowTestEndpoints).is_err());
    }

    #[test]
    fn tenant_admins_get_public_https_only() {
        assert!(check("https://acme.service-now.com", PublicHttpsOnly).is_ok());
        assert!(check("https://8.8.8.8", PublicHttpsOnly).is_ok());
        for refused in [
            "http://acme.service-now.com",
            "https://127.0.0.1",
            "https://localhost:8443",
            "https://10.1.2.3",
            "https://192.168.0.10",
            "https://172.16.5.4",
            "https://169.254.169.254",
            "https://100.64.0.1",
            "https://[::1]",
            "https://[fd00::1]",
            "https://[fe80::1]",
            "https://[::ffff:10.0.0.1]",
            "https://metadata.internal",
            "https://intranet",
            "https://0.0.0.0",
        ] {
            assert!(check(refused, PublicHttpsOnly).is_err(), "{refused}");
        }
    }
}
