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
