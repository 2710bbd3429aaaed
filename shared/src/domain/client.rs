//! Who sent a request, as the audit log and the security notices record it.

/// Who sent the request: the source IP as API Gateway saw the connection
/// (never a client-supplied header such as `X-Forwarded-For`), and the
/// `User-Agent` header, which is the client's own word either way (API Gateway
/// copies the same header into its request context).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// What the audit log, the session list and the notices show of the client: a description, never the header.
    pub fn device(&self) -> String {
        self.user_agent.as_deref().map_or_else(|| "an unrecognised browser or app".into(), describe_agent)
    }
}

/// A short, safe description of a user agent ("Firefox 140 on Linux"). The
/// header is whatever the client sent: copying it into a mail would let
/// anyone who can trigger a notice write text (and links) into it.
pub fn describe_agent(user_agent: &str) -> String {
    const BROWSERS: [(&str, &str); 8] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
        ("curl/", "curl"),
        ("okhttp/", "okhttp"),
        ("python-requests/", "Python requests"),
    ];
    const SYSTEMS: [(&str, &str); 6] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS.iter().find_map(|(marker, name)| {
        let rest = &user_agent[user_agent.find(marker)? + marker.len()..];
        let major: String = rest.chars().take_while(char::is_ascii_digit).take(4).collect();
        Some(if major.is_empty() { name.to_string() } else { format!("{name} {major}") })
    });
    let system = SYSTEMS.iter().find(|(marker, _)| user_agent.contains(marker)).map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser,
        (None, Some(system)) => format!("a browser or app on {system}"),
        (None, None) => "an unrecognised browser or app".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_described_not_copied() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(describe_agent(chrome), "Chrome 131 on Linux");
        assert_eq!(describe_agent("curl/8.5.0"), "curl 8");
        assert_eq!(
            describe_agent("Click http://evil.example to secure your account"),
            "an unrecognised browser or app"
        );
    }
}
