//! What the core may ask of an incoming request. The httpd glue implements [`RequestView`] over
//! `request_rec`; tests implement it over plain data ([`TestRequest`]).

/// Read-only view of the parts of a request the core decides on.
pub trait RequestView {
    /// HTTP method, e.g. "GET".
    fn method(&self) -> &str;
    /// First value of a request header, name compared case-insensitively.
    fn header(&self, name: &str) -> Option<&str>;
    /// Calls `f` with the name of every request header, in arrival order (for scrubbing spoofed
    /// `OIDC-*` headers without allocating on every request).
    fn visit_header_names(&self, f: &mut dyn FnMut(&str));
    /// Raw query string without the leading '?', if any.
    fn query(&self) -> Option<&str>;
    /// The request body if it is `application/x-www-form-urlencoded`, read (bounded) on demand.
    /// `None` when there is no such body. The glue keeps the body for the backend.
    fn form_body(&self) -> Option<&[u8]>;
    /// True when the client connection is TLS.
    fn is_https(&self) -> bool;
    /// The location's `AuthName`, used as the `realm` of challenges.
    fn auth_name(&self) -> Option<&str> {
        None
    }
    /// The request target as the client sent it: path and query, still percent-encoded
    /// (`/mesos/a%20b?x=1`); httpd's `r->unparsed_uri`.
    fn unparsed_uri(&self) -> &str;
    /// The path of [`RequestView::unparsed_uri`], still percent-encoded, without the query.
    fn path(&self) -> &str {
        let u = self.unparsed_uri();
        &u[..u.find('?').unwrap_or(u.len())]
    }
    /// The host the client asked for (`Host` header without port, else the `ServerName`);
    /// httpd's `r->hostname`.
    fn hostname(&self) -> &str;
    /// The port the request is served on, as httpd's `ap_get_server_port` (the `Host` header's
    /// port with `UseCanonicalName Off`, else the `ServerName`/listener port).
    fn port(&self) -> u16;
}

/// A request made of plain data, for tests of the core.
#[derive(Debug, Default, Clone)]
pub struct TestRequest {
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub query: Option<String>,
    pub body: Option<Vec<u8>>,
    pub https: bool,
    /// Path and query as sent; empty means `/`.
    pub uri: String,
    /// Empty means `localhost`.
    pub host: String,
    /// 0 means 80 (443 with `https`).
    pub server_port: u16,
}

impl TestRequest {
    pub fn get() -> Self {
        TestRequest {
            method: "GET".into(),
            ..Default::default()
        }
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn with_query(mut self, q: &str) -> Self {
        self.query = Some(q.into());
        self
    }
    /// Sets the request target (`/path?query`); the query also becomes [`TestRequest::query`].
    pub fn with_uri(mut self, uri: &str) -> Self {
        self.uri = uri.into();
        self.query = uri.split_once('?').map(|(_, q)| q.to_string());
        self
    }
    pub fn with_host(mut self, host: &str, port: u16) -> Self {
        self.host = host.into();
        self.server_port = port;
        self
    }
    pub fn with_form_body(mut self, method: &str, body: &str) -> Self {
        self.method = method.into();
        self.body = Some(body.as_bytes().to_vec());
        self
    }
}

impl RequestView for TestRequest {
    fn method(&self) -> &str {
        &self.method
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn visit_header_names(&self, f: &mut dyn FnMut(&str)) {
        for (n, _) in &self.headers {
            f(n)
        }
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn form_body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
    fn is_https(&self) -> bool {
        self.https
    }
    fn unparsed_uri(&self) -> &str {
        if self.uri.is_empty() { "/" } else { &self.uri }
    }
    fn hostname(&self) -> &str {
        if self.host.is_empty() {
            "localhost"
        } else {
            &self.host
        }
    }
    fn port(&self) -> u16 {
        match (self.server_port, self.https) {
            (0, true) => 443,
            (0, false) => 80,
            (p, _) => p,
        }
    }
}
