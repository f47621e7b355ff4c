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
}

/// A request made of plain data, for tests of the core.
#[derive(Debug, Default, Clone)]
pub struct TestRequest {
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub query: Option<String>,
    pub body: Option<Vec<u8>>,
    pub https: bool,
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
}
