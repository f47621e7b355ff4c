//! The real [`HttpClient`]: blocking ureq over native-tls (OpenSSL, the same library httpd
//! loads), made per child process after fork. TLS settings come from `OIDCCABundlePath` and
//! `OIDCSSLValidateServer`/`OIDCOAuthSSLValidateServer`; every call is bounded in time and size.

use std::time::Duration;

use ureq::Agent;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

use crate::deps::{HttpClient, HttpError, HttpMethod, HttpRequest, HttpResponse};

/// Settings of one outgoing-HTTP client.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// PEM file of trusted CA certificates; `None` means the system trust store.
    pub ca_bundle: Option<String>,
    /// Verify the server certificate and host name.
    pub validate_server: bool,
    /// Whole-exchange timeout.
    pub timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Largest response body accepted.
    pub max_body: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            ca_bundle: None,
            validate_server: true,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            max_body: 1024 * 1024,
        }
    }
}

pub struct UreqClient {
    agent: Agent,
    max_body: u64,
}

impl UreqClient {
    /// Builds the client; fails when the CA bundle cannot be read or holds no certificate.
    pub fn new(settings: &HttpSettings) -> Result<UreqClient, String> {
        let root_certs = match &settings.ca_bundle {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read CA bundle {path}: {e}"))?;
                let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return Err(format!("CA bundle {path} holds no PEM certificate"));
                }
                RootCerts::new_with_certs(&certs)
            }
            None => RootCerts::PlatformVerifier,
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::NativeTls)
            .root_certs(root_certs)
            .disable_verification(!settings.validate_server)
            .build();
        let config = Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(settings.timeout))
            .timeout_connect(Some(settings.connect_timeout))
            .user_agent("mod_auth_openidc_rs")
            .build();
        Ok(UreqClient {
            agent: config.into(),
            max_body: settings.max_body,
        })
    }
}

fn map_error(e: ureq::Error) -> HttpError {
    match e {
        ureq::Error::Timeout(_) => HttpError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge,
        ureq::Error::Io(io)
            if io.kind() == std::io::ErrorKind::TimedOut
                || io.kind() == std::io::ErrorKind::WouldBlock =>
        {
            HttpError::Timeout
        }
        other => HttpError::Transport(other.to_string()),
    }
}

impl HttpClient for UreqClient {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let result = match req.method {
            HttpMethod::Get => {
                let mut builder = self.agent.get(&req.url);
                for (name, value) in &req.headers {
                    builder = builder.header(name.as_str(), value.as_str());
                }
                builder.call()
            }
            HttpMethod::Post => {
                let mut builder = self.agent.post(&req.url);
                let has_content_type = req
                    .headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
                if !has_content_type {
                    builder = builder.header("Content-Type", "application/x-www-form-urlencoded");
                }
                for (name, value) in &req.headers {
                    builder = builder.header(name.as_str(), value.as_str());
                }
                builder.send(req.body.as_deref().unwrap_or(&[]))
            }
        };
        let mut response = result.map_err(map_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (n.as_str().to_string(), v.to_string()))
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_body)
            .read_to_vec()
            .map_err(map_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    /// A one-shot HTTP server on loopback answering with `response` after `delay`.
    fn serve_once(response: Vec<u8>, delay: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(&response);
            }
        });
        format!("http://{addr}/x")
    }

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: HttpMethod::Get,
            url: url.into(),
            headers: vec![],
            body: None,
        }
    }

    #[test]
    fn fetches_a_body() {
        let url = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".to_vec(),
            Duration::ZERO,
        );
        let client = UreqClient::new(&HttpSettings::default()).unwrap();
        let r = client.send(&get(&url)).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello");
    }

    #[test]
    fn error_status_is_a_response_not_an_error() {
        let url = serve_once(
            b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            Duration::ZERO,
        );
        let client = UreqClient::new(&HttpSettings::default()).unwrap();
        assert_eq!(client.send(&get(&url)).unwrap().status, 500);
    }

    #[test]
    fn slow_server_times_out_within_bound() {
        let url = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            Duration::from_secs(5),
        );
        let settings = HttpSettings {
            timeout: Duration::from_millis(500),
            ..Default::default()
        };
        let client = UreqClient::new(&settings).unwrap();
        let start = Instant::now();
        assert_eq!(client.send(&get(&url)), Err(HttpError::Timeout));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn oversized_body_is_refused() {
        let body = vec![b'a'; 4096];
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend_from_slice(&body);
        let url = serve_once(resp, Duration::ZERO);
        let settings = HttpSettings {
            max_body: 1000,
            ..Default::default()
        };
        let client = UreqClient::new(&settings).unwrap();
        assert_eq!(client.send(&get(&url)), Err(HttpError::TooLarge));
    }

    #[test]
    fn refused_connection_is_a_transport_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = UreqClient::new(&HttpSettings::default()).unwrap();
        assert!(matches!(
            client.send(&get(&format!("http://{addr}/"))),
            Err(HttpError::Transport(_))
        ));
    }

    #[test]
    fn missing_ca_bundle_is_an_error() {
        let settings = HttpSettings {
            ca_bundle: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        assert!(UreqClient::new(&settings).is_err());
    }
}
