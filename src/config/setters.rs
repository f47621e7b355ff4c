//! One parser per supported directive: validate the arguments like mod_auth_openidc 2.4.12.3
//! does (stricter where its checks are missing or too weak) and store the value. Each error names
//! the directive; httpd adds the file and line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use openssl::pkey::{Id, PKey, Public};
use openssl::x509::X509;
use regex_lite::Regex;

use super::dir::DirConfig;
use super::directives::Args;
use super::parse::{self, getword_conf, integer_in, not_one_of, one_of, server_root_relative};
use super::server::ServerConfig;
use super::types::{
    CacheType, ClaimsTarget, EndpointAuth, ExpiryFormat, HttpMethod, PublicKeyFile, PublicKeyType,
    ResponseType, Secret, SharedKey, TokenExpiryClaim, XForwardedHeaders,
};
use super::url;
use super::values::{ClaimEncoding, RemoteUserClaim, TokenSource};

type R = Result<(), String>;

/// The upper bound of the C module's intervals and durations: one year in seconds.
const ONE_YEAR: i64 = 3600 * 24 * 365;

/// The cookie `OIDCOAuthAcceptTokenAs cookie` reads when no name is given.
pub const DEFAULT_TOKEN_COOKIE: &str = "PA.global";

fn named(name: &str, msg: impl std::fmt::Display) -> String {
    format!("{name}: {msg}")
}

/// The `i`-th argument; httpd has already checked the count, this only avoids indexing.
fn arg<'a>(name: &str, args: &Args<'a>, i: usize) -> Result<&'a str, String> {
    args.words
        .get(i)
        .copied()
        .ok_or_else(|| named(name, "missing argument"))
}

fn opt<'a>(args: &Args<'a>, i: usize) -> Option<&'a str> {
    args.words.get(i).copied()
}

fn non_empty<'a>(name: &str, v: &'a str) -> Result<&'a str, String> {
    if v.is_empty() {
        Err(named(name, "the value must not be empty"))
    } else {
        Ok(v)
    }
}

fn push_unique(list: &mut Vec<String>, v: &str) {
    if !list.iter().any(|x| x == v) {
        list.push(v.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 resource server

pub fn oauth_verify_jwks_uri(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthVerifyJwksUri";
    let v = arg(N, args, 0)?;
    url::check_https_or_loopback(v).map_err(|e| named(N, e))?;
    cfg.oauth_verify_jwks_uri = Some(v.to_string());
    Ok(())
}

pub fn oauth_introspection_endpoint(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthIntrospectionEndpoint";
    let v = arg(N, args, 0)?;
    url::check_https_or_loopback(v).map_err(|e| named(N, e))?;
    cfg.oauth_introspection_endpoint = Some(v.to_string());
    Ok(())
}

pub fn oauth_server_metadata_url(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthServerMetadataURL";
    let v = arg(N, args, 0)?;
    url::check_https_or_loopback(v).map_err(|e| named(N, e))?;
    cfg.oauth_server_metadata_url = Some(v.to_string());
    Ok(())
}

/// `OIDCOAuthVerifySharedKeys`, one key per call: `[<enc>#[<kid>]#]<key>` or `<kid>#<key>`.
pub fn oauth_verify_shared_keys(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthVerifySharedKeys";
    let key = parse_shared_key(arg(N, args, 0)?).map_err(|e| named(N, e))?;
    // keys are kept by kid, as in the C module's hash: a later key with the same kid wins
    let keys = &mut cfg.oauth_verify_shared_keys;
    match keys
        .iter_mut()
        .find(|k| k.kid.is_some() && k.kid == key.kid)
    {
        Some(existing) => *existing = key,
        None => keys.push(key),
    }
    Ok(())
}

fn parse_shared_key(tuple: &str) -> Result<SharedKey, String> {
    if tuple.is_empty() {
        return Err("the key is empty".to_string());
    }
    let (kid, key) = match tuple.split_once('#') {
        None => (None, tuple.as_bytes().to_vec()),
        Some((first, rest)) => match rest.split_once('#') {
            Some((kid, encoded)) => (Some(kid), decode_key(first, encoded)?),
            None => (Some(first), rest.as_bytes().to_vec()),
        },
    };
    if key.is_empty() {
        return Err(format!("the key in \"{}\" is empty", redact_tuple(tuple)));
    }
    Ok(SharedKey {
        kid: kid.filter(|k| !k.is_empty()).map(str::to_string),
        key: Secret::new(key),
    })
}

/// The tuple without its key part, for error messages.
fn redact_tuple(tuple: &str) -> String {
    match tuple.rfind('#') {
        Some(i) => format!("{}#...", tuple.get(..i).unwrap_or("")),
        None => "...".to_string(),
    }
}

fn decode_key(encoding: &str, input: &str) -> Result<Vec<u8>, String> {
    #[derive(Clone, Copy)]
    enum Enc {
        B64,
        B64Url,
        Hex,
        Plain,
    }
    let enc = one_of(
        encoding,
        &[
            ("b64", Enc::B64),
            ("b64url", Enc::B64Url),
            ("hex", Enc::Hex),
            ("plain", Enc::Plain),
        ],
    )
    .map_err(|e| format!("key encoding: {e}"))?;
    match enc {
        Enc::Plain => Ok(input.as_bytes().to_vec()),
        Enc::B64 => base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
            .decode(input)
            .map_err(|e| format!("base64-decoding of the key failed: {e}")),
        Enc::B64Url => base64::engine::general_purpose::URL_SAFE_PAD_INDIFFERENT
            .decode(input)
            .map_err(|e| format!("base64url-decoding of the key failed: {e}")),
        Enc::Hex => decode_hex(input),
    }
}

fn decode_hex(input: &str) -> Result<Vec<u8>, String> {
    let bytes = input.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err("hex-decoding of the key failed: odd number of digits".to_string());
    }
    bytes
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| "hex-decoding of the key failed: not a hex digit".to_string())
        })
        .collect()
}

/// `OIDCOAuthVerifyCertFiles`, one file per call: `[<kid>#]<filename>`, a PEM public key or
/// X.509 certificate, read now (like the C module) so that a bad file stops the startup.
pub fn oauth_verify_cert_files(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthVerifyCertFiles";
    let v = arg(N, args, 0)?;
    let (kid, file) = match v.split_once('#') {
        Some((kid, file)) => (Some(kid).filter(|k| !k.is_empty()), file),
        None => (None, v),
    };
    if file.is_empty() {
        return Err(named(N, format!("no file name in \"{v}\"")));
    }
    let path = server_root_relative(file, args.server_root);
    let key = read_public_key_file(&path, kid).map_err(|e| named(N, e))?;
    cfg.oauth_verify_cert_files.push(key);
    Ok(())
}

/// Cert and key files are small; this bounds what a wrong path can make us read.
const MAX_KEY_FILE: u64 = 1 << 20;

fn read_public_key_file(path: &Path, kid: Option<&str>) -> Result<PublicKeyFile, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("cannot read \"{shown}\": {e}"))?;
    let mut pem = Vec::new();
    file.take(MAX_KEY_FILE)
        .read_to_end(&mut pem)
        .map_err(|e| format!("cannot read \"{shown}\": {e}"))?;
    let (pkey, cert_der): (PKey<Public>, Option<Vec<u8>>) = match PKey::public_key_from_pem(&pem) {
        Ok(k) => (k, None),
        Err(_) => {
            let cert = X509::from_pem(&pem).map_err(|_| {
                format!("\"{shown}\" holds neither a PEM public key nor a PEM X.509 certificate")
            })?;
            let key = cert.public_key().map_err(|e| {
                format!("cannot get the public key of the certificate in \"{shown}\": {e}")
            })?;
            let der = cert
                .to_der()
                .map_err(|e| format!("cannot encode the certificate in \"{shown}\": {e}"))?;
            (key, Some(der))
        }
    };
    let key_type = match pkey.id() {
        Id::RSA => PublicKeyType::Rsa,
        Id::EC => PublicKeyType::Ec,
        _ => {
            return Err(format!(
                "\"{shown}\" holds a key of an unsupported type (only RSA and EC keys are supported)"
            ));
        }
    };
    let spki_der = pkey
        .public_key_to_der()
        .map_err(|e| format!("cannot encode the public key in \"{shown}\": {e}"))?;
    Ok(PublicKeyFile {
        kid: kid.map(str::to_string),
        path: path.to_path_buf(),
        key_type,
        spki_der,
        cert_der,
    })
}

pub fn oauth_verify_audience(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthVerifyAudience";
    let v = non_empty(N, arg(N, args, 0)?)?;
    push_unique(&mut cfg.oauth_verify_audience, v);
    Ok(())
}

pub fn oauth_verify_issuer(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthVerifyIssuer";
    let v = non_empty(N, arg(N, args, 0)?)?;
    cfg.oauth_verify_issuer = Some(v.to_string());
    Ok(())
}

/// `OIDCOAuthTokenExpiryClaim <claim> [absolute|relative] [mandatory|optional]`; the parts not
/// given take their defaults (`relative`, `mandatory`).
pub fn oauth_token_expiry_claim(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthTokenExpiryClaim";
    let name = non_empty(N, arg(N, args, 0)?)?;
    let mut claim = TokenExpiryClaim {
        name: name.to_string(),
        ..TokenExpiryClaim::default()
    };
    if let Some(f) = opt(args, 1) {
        claim.format = one_of(
            f,
            &[
                ("relative", ExpiryFormat::Relative),
                ("absolute", ExpiryFormat::Absolute),
            ],
        )
        .map_err(|e| named(N, e))?;
    }
    if let Some(r) = opt(args, 2) {
        claim.required =
            one_of(r, &[("mandatory", true), ("optional", false)]).map_err(|e| named(N, e))?;
    }
    cfg.oauth_token_expiry_claim = Some(claim);
    Ok(())
}

const ENDPOINT_AUTH_ALL: &[(&str, EndpointAuth)] = &[
    ("client_secret_basic", EndpointAuth::ClientSecretBasic),
    ("client_secret_post", EndpointAuth::ClientSecretPost),
    ("client_secret_jwt", EndpointAuth::ClientSecretJwt),
    ("private_key_jwt", EndpointAuth::PrivateKeyJwt),
    ("bearer_access_token", EndpointAuth::BearerAccessToken),
    ("none", EndpointAuth::None),
];

pub fn oauth_introspection_endpoint_auth(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthIntrospectionEndpointAuth";
    let v = arg(N, args, 0)?;
    let auth = one_of(v, ENDPOINT_AUTH_ALL).map_err(|e| named(N, e))?;
    match auth {
        EndpointAuth::ClientSecretJwt | EndpointAuth::PrivateKeyJwt => Err(named(
            N,
            format!(
                "\"{v}\" is not supported yet by mod_auth_openidc_rs; use one of \"client_secret_basic\", \"client_secret_post\", \"bearer_access_token\", \"none\""
            ),
        )),
        _ => {
            cfg.oauth_introspection_endpoint_auth = Some(auth);
            Ok(())
        }
    }
}

/// RAW_ARGS like the C module: the first word, unquoted; an empty word, or more than one word,
/// means "" (use the introspected token itself as the bearer token).
pub fn oauth_introspection_client_auth_bearer_token(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthIntrospectionClientAuthBearerToken";
    let raw = arg(N, args, 0)?;
    let (word, rest) = getword_conf(raw);
    let token = if rest.is_empty() { word } else { String::new() };
    cfg.oauth_introspection_client_auth_bearer_token = Some(Secret::new(token));
    Ok(())
}

pub fn oauth_introspection_endpoint_method(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthIntrospectionEndpointMethod";
    let v = arg(N, args, 0)?;
    let m = one_of(v, &[("GET", HttpMethod::Get), ("POST", HttpMethod::Post)])
        .map_err(|e| named(N, e))?;
    cfg.oauth_introspection_endpoint_method = Some(m);
    Ok(())
}

pub fn oauth_introspection_endpoint_params(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthIntrospectionEndpointParams";
    cfg.oauth_introspection_endpoint_params = Some(arg(N, args, 0)?.to_string());
    Ok(())
}

pub fn oauth_introspection_token_param_name(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthIntrospectionTokenParamName";
    let v = non_empty(N, arg(N, args, 0)?)?;
    cfg.oauth_introspection_token_param_name = Some(v.to_string());
    Ok(())
}

pub fn oauth_client_id(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthClientID";
    cfg.oauth_client_id = Some(arg(N, args, 0)?.to_string());
    Ok(())
}

pub fn oauth_client_secret(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthClientSecret";
    cfg.oauth_client_secret = Some(Secret::new(arg(N, args, 0)?.to_string()));
    Ok(())
}

pub fn oauth_ssl_validate_server(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthSSLValidateServer";
    cfg.oauth_ssl_validate_server =
        Some(parse::boolean(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

/// `OIDCOAuthRemoteUserClaim <claim> [<regex> [<replacement>]]`. A trailing `@` has no special
/// meaning here (as in the C module, it is part of the claim name).
pub fn oauth_remote_user_claim(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthRemoteUserClaim";
    cfg.oauth_remote_user_claim = Some(parse_remote_user_claim(N, args, false)?);
    Ok(())
}

/// `OIDCRemoteUserClaim <claim>[@] [<regex> [<replacement>]]`.
pub fn remote_user_claim(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRemoteUserClaim";
    cfg.remote_user_claim = Some(parse_remote_user_claim(N, args, true)?);
    Ok(())
}

fn parse_remote_user_claim(name: &str, args: &Args, rp: bool) -> Result<RemoteUserClaim, String> {
    let raw = arg(name, args, 0)?;
    let (claim, append_issuer) = match raw.strip_suffix('@') {
        Some(c) if rp => (c, true),
        _ => (raw, false),
    };
    if claim.is_empty() {
        return Err(named(name, "the claim name is empty"));
    }
    let regex = match opt(args, 1) {
        Some(r) => Some(Regex::new(r).map_err(|e| {
            named(
                name,
                format!(
                    "invalid regular expression \"{r}\": {}",
                    parse::one_line(&e.to_string())
                ),
            )
        })?),
        None => None,
    };
    Ok(RemoteUserClaim {
        claim: claim.to_string(),
        append_issuer,
        regex,
        replacement: opt(args, 2).map(str::to_string),
    })
}

/// `OIDCOAuthTokenIntrospectionInterval`: -1 (no cache), 0 (until expiry) or seconds.
pub fn oauth_token_introspection_interval(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthTokenIntrospectionInterval";
    let v = integer_in(arg(N, args, 0)?, -1, ONE_YEAR).map_err(|e| named(N, e))?;
    cfg.token_introspection_interval = Some(i32::try_from(v).map_err(|e| named(N, e))?);
    Ok(())
}

/// `OIDCOAuthAcceptTokenAs`, one word per call: `header|post|query|cookie[:<name>]|basic`.
/// Repeated kinds are kept once; a second `cookie` replaces the cookie name.
pub fn oauth_accept_token_as(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCOAuthAcceptTokenAs";
    let v = arg(N, args, 0)?;
    let (kind, option) = match v.split_once(':') {
        Some((k, o)) => (k, Some(o)),
        None => (v, None),
    };
    #[derive(Clone, Copy)]
    enum Kind {
        Header,
        Post,
        Query,
        Cookie,
        Basic,
    }
    let kind = one_of(
        kind,
        &[
            ("header", Kind::Header),
            ("post", Kind::Post),
            ("query", Kind::Query),
            ("cookie", Kind::Cookie),
            ("basic", Kind::Basic),
        ],
    )
    .map_err(|e| named(N, e))?;
    let source = match kind {
        Kind::Header => TokenSource::Header,
        Kind::Post => TokenSource::Post,
        Kind::Query => TokenSource::Query,
        Kind::Basic => TokenSource::Basic,
        Kind::Cookie => {
            let cookie = option.unwrap_or(DEFAULT_TOKEN_COOKIE);
            if !parse::is_header_token(cookie) {
                return Err(named(N, format!("invalid cookie name in \"{v}\"")));
            }
            TokenSource::Cookie(cookie.to_string())
        }
    };
    let list = &mut cfg.accept_token_as;
    let same_kind = |s: &TokenSource| std::mem::discriminant(s) == std::mem::discriminant(&source);
    match list.iter_mut().find(|s| same_kind(s)) {
        Some(existing) => *existing = source,
        None => list.push(source),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// claims

/// RAW_ARGS like the C module: the first word, unquoted (`OIDCClaimPrefix "OIDC-"`). An empty
/// word means no prefix. Improvement: more than one word is an error (the C module silently
/// used an empty prefix then).
pub fn claim_prefix(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCClaimPrefix";
    let raw = arg(N, args, 0)?;
    let (word, rest) = getword_conf(raw);
    if !rest.is_empty() {
        return Err(named(
            N,
            "takes one argument (quote a prefix that contains spaces)",
        ));
    }
    cfg.claim_prefix = Some(word);
    Ok(())
}

pub fn claim_delimiter(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCClaimDelimiter";
    cfg.claim_delimiter = Some(arg(N, args, 0)?.to_string());
    Ok(())
}

pub fn white_listed_claims(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCWhiteListedClaims";
    let v = non_empty(N, arg(N, args, 0)?)?;
    push_unique(&mut cfg.white_listed_claims, v);
    Ok(())
}

pub fn black_listed_claims(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCBlackListedClaims";
    let v = non_empty(N, arg(N, args, 0)?)?;
    push_unique(&mut cfg.black_listed_claims, v);
    Ok(())
}

/// `OIDCPassClaimsAs none|headers|environment|both [latin1|base64url|none]`.
pub fn pass_claims_as(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCPassClaimsAs";
    let target = one_of(
        arg(N, args, 0)?,
        &[
            ("none", ClaimsTarget::None),
            ("headers", ClaimsTarget::Headers),
            ("environment", ClaimsTarget::Environment),
            ("both", ClaimsTarget::Both),
        ],
    )
    .map_err(|e| named(N, e))?;
    let encoding = match opt(args, 1) {
        Some(e) => Some(
            one_of(
                e,
                &[
                    ("latin1", ClaimEncoding::Latin1),
                    ("base64url", ClaimEncoding::Base64Url),
                    ("none", ClaimEncoding::None),
                ],
            )
            .map_err(|e| named(N, e))?,
        ),
        None => None,
    };
    cfg.pass_claims_as = Some(target);
    if encoding.is_some() {
        cfg.pass_claims_encoding = encoding;
    }
    Ok(())
}

pub fn strip_cookies(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCStripCookies";
    let v = non_empty(N, arg(N, args, 0)?)?;
    if !parse::is_header_token(v) {
        return Err(named(N, format!("\"{v}\" is not a valid cookie name")));
    }
    push_unique(&mut cfg.strip_cookies, v);
    Ok(())
}

pub fn pass_access_token(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCPassAccessToken";
    cfg.pass_access_token = Some(parse::boolean(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

pub fn authn_header(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCAuthNHeader";
    let v = arg(N, args, 0)?;
    if !parse::is_header_token(v) {
        return Err(named(N, format!("\"{v}\" is not a valid HTTP header name")));
    }
    cfg.authn_header = Some(v.to_string());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// outgoing HTTP, cache

pub fn ssl_validate_server(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCSSLValidateServer";
    cfg.ssl_validate_server = Some(parse::boolean(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

/// `OIDCCABundlePath`: relative to ServerRoot; improvement: the file must exist and be readable.
pub fn ca_bundle_path(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCABundlePath";
    let v = non_empty(N, arg(N, args, 0)?)?;
    let path = server_root_relative(v, args.server_root);
    check_readable_file(&path).map_err(|e| named(N, e))?;
    cfg.ca_bundle_path = Some(path);
    Ok(())
}

fn check_readable_file(path: &PathBuf) -> Result<(), String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("cannot read \"{shown}\": {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read \"{shown}\": {e}"))?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(format!("\"{shown}\" is not a file"))
    }
}

/// The HTTP timeouts: improvement, 1 to 3600 seconds (the C module took any integer; 0 meant
/// "no timeout" to curl).
fn http_timeout(name: &str, args: &Args) -> Result<u32, String> {
    let v = integer_in(arg(name, args, 0)?, 1, 3600).map_err(|e| named(name, e))?;
    u32::try_from(v).map_err(|e| named(name, e))
}

pub fn http_timeout_short(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.http_timeout_short = Some(http_timeout("OIDCHTTPTimeoutShort", args)?);
    Ok(())
}

pub fn http_timeout_long(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.http_timeout_long = Some(http_timeout("OIDCHTTPTimeoutLong", args)?);
    Ok(())
}

pub fn jwks_refresh_interval(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCJWKSRefreshInterval";
    let v = integer_in(arg(N, args, 0)?, 300, ONE_YEAR).map_err(|e| named(N, e))?;
    cfg.jwks_refresh_interval = Some(u32::try_from(v).map_err(|e| named(N, e))?);
    Ok(())
}

pub fn cache_type(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCacheType";
    let v = arg(N, args, 0)?;
    match v {
        "shm" => {
            cfg.cache_type = Some(CacheType::Shm);
            Ok(())
        }
        "memcache" | "redis" | "file" => Err(named(
            N,
            format!("\"{v}\" is not supported yet by mod_auth_openidc_rs; only \"shm\" is"),
        )),
        _ => Err(named(
            N,
            not_one_of(v, &["shm", "memcache", "redis", "file"]),
        )),
    }
}

pub fn cache_encrypt(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCacheEncrypt";
    cfg.cache_encrypt = Some(parse::flag(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect relying party: accepted and validated now, used later

const RESPONSE_TYPES: &[&str] = &[
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
];

/// `OIDCResponseType`: the C module compares the space-separated values as a set.
pub fn response_type(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCResponseType";
    let v = arg(N, args, 0)?;
    let given = word_set(v);
    match RESPONSE_TYPES.iter().find(|t| word_set(t) == given) {
        Some(&"code") => {
            cfg.response_type = Some(ResponseType::Code);
            Ok(())
        }
        Some(_) => Err(named(
            N,
            format!("\"{v}\" is not supported yet by mod_auth_openidc_rs; only \"code\" is"),
        )),
        None => Err(named(N, not_one_of(v, RESPONSE_TYPES))),
    }
}

fn word_set(s: &str) -> Vec<&str> {
    let mut w: Vec<&str> = s.split(' ').filter(|t| !t.is_empty()).collect();
    w.sort_unstable();
    w
}

pub fn scope(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCScope";
    cfg.scope = Some(arg(N, args, 0)?.to_string());
    Ok(())
}

/// `OIDCProviderMetadataURL`: an http or https URL (a warning for http comes from
/// `check_server`, as in the C module).
pub fn provider_metadata_url(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCProviderMetadataURL";
    let v = arg(N, args, 0)?;
    url::parse_http_url(v).map_err(|e| named(N, e))?;
    cfg.provider_metadata_url = Some(v.to_string());
    Ok(())
}

pub fn client_id(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCClientID";
    cfg.client_id = Some(arg(N, args, 0)?.to_string());
    Ok(())
}

pub fn client_secret(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCClientSecret";
    cfg.client_secret = Some(Secret::new(arg(N, args, 0)?.to_string()));
    Ok(())
}

/// `OIDCProviderTokenEndpointAuth`: `private_key_jwt` needs `OIDCPrivateKeyFiles`, which is not
/// supported yet.
pub fn provider_token_endpoint_auth(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCProviderTokenEndpointAuth";
    let v = arg(N, args, 0)?;
    let auth = one_of(v, ENDPOINT_AUTH_ALL).map_err(|e| named(N, e))?;
    if auth == EndpointAuth::PrivateKeyJwt {
        return Err(named(
            N,
            "\"private_key_jwt\" is not supported yet by mod_auth_openidc_rs",
        ));
    }
    cfg.provider_token_endpoint_auth = Some(auth);
    Ok(())
}

/// `OIDCCryptoPassphrase <passphrase>` or `"exec:<program> [<arg>]*"`: the program (absolute or
/// relative to ServerRoot) runs now and the first line of its output is the passphrase.
pub fn crypto_passphrase(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCryptoPassphrase";
    let v = arg(N, args, 0)?;
    let pass = match v.strip_prefix("exec:") {
        Some(cmd) if !cmd.is_empty() => {
            exec_first_line(cmd, args.server_root, EXEC_TIMEOUT).map_err(|e| named(N, e))?
        }
        _ => v.to_string(),
    };
    if pass.is_empty() {
        return Err(named(N, "the passphrase must not be empty"));
    }
    cfg.crypto_passphrase = Some(Secret::new(pass));
    Ok(())
}

const EXEC_TIMEOUT: Duration = Duration::from_secs(10);
/// httpd's MAX_STRING_LEN, the C module's limit on the line read.
const EXEC_MAX_LINE: usize = 8191;

/// Runs `cmdline` (split like `apr_tokenize_to_argv`) in the program's directory and returns the
/// first line of its standard output. A program that neither answers nor exits within `timeout`
/// is killed.
fn exec_first_line(
    cmdline: &str,
    server_root: Option<&Path>,
    timeout: Duration,
) -> Result<String, String> {
    let argv = parse::tokenize_to_argv(cmdline);
    let Some((program, program_args)) = argv.split_first() else {
        return Err(format!("Unable to parse exec arguments from {cmdline}"));
    };
    let program = server_root_relative(program, server_root);
    let dir = match program.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut child = Command::new(&program)
        .args(program_args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("Unable to get passphrase from exec of {cmdline}: {e}"))?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("Unable to get passphrase from exec of {cmdline}"));
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut reader = BufReader::new(stdout);
        let result = loop {
            let buf = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) => break Err(e),
            };
            if buf.is_empty() {
                break Ok(());
            }
            let n = buf.len();
            match buf.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    line.extend_from_slice(buf.get(..i).unwrap_or(&[]));
                    break Ok(());
                }
                None => {
                    line.extend_from_slice(buf);
                    reader.consume(n);
                }
            }
            if line.len() >= EXEC_MAX_LINE {
                break Ok(());
            }
        };
        line.truncate(EXEC_MAX_LINE);
        let _ = tx.send(result.map(|()| line));
    });
    let outcome = rx.recv_timeout(timeout);
    // the line is read (or it never came): reap the child, killing it if it lingers
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline && outcome.is_ok() => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    let line = match outcome {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => {
            return Err(format!(
                "Unable to get passphrase from exec of {cmdline}: {e}"
            ));
        }
        Err(_) => {
            return Err(format!(
                "Unable to get passphrase from exec of {cmdline}: no output within {} seconds",
                timeout.as_secs_f32()
            ));
        }
    };
    let line = String::from_utf8(line).map_err(|_| {
        "the output of the crypto passphrase generation command is not valid UTF-8".to_string()
    })?;
    if line.is_empty() {
        return Err("the output of the crypto passphrase generation command is empty (perhaps you need to pass it to bash -c \"<cmd>\"?)".to_string());
    }
    Ok(line)
}

/// `OIDCRedirectURI`: a relative URL starting with `/`, or an absolute http(s) URL with a host.
pub fn redirect_uri(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedirectURI";
    let v = arg(N, args, 0)?;
    if v.starts_with('/') {
        if let Some(c) = v.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(named(
                N,
                format!("\"{v}\" contains a forbidden character ({c:?})"),
            ));
        }
    } else {
        url::parse_http_url(v).map_err(|e| named(N, e))?;
    }
    cfg.redirect_uri = Some(v.to_string());
    Ok(())
}

/// `OIDCSessionMaxDuration`: 0 (the ID token's expiry) or 15 seconds to one year.
pub fn session_max_duration(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCSessionMaxDuration";
    let raw = arg(N, args, 0)?;
    let v = parse::integer(raw).map_err(|e| named(N, e))?;
    let v = if v == 0 {
        0
    } else {
        integer_in(raw, 15, ONE_YEAR)
            .map_err(|e| named(N, format!("{e} (or 0: until the ID token expires)")))?
    };
    cfg.session_max_duration = Some(u32::try_from(v).map_err(|e| named(N, e))?);
    Ok(())
}

pub fn cookie_same_site(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCookieSameSite";
    cfg.cookie_same_site = Some(parse::flag(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

/// `OIDCXForwardedHeaders`, one header name per call (case as in the C module).
pub fn x_forwarded_headers(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCXForwardedHeaders";
    #[derive(Clone, Copy)]
    enum H {
        Host,
        Port,
        Proto,
        Forwarded,
    }
    let h = one_of(
        arg(N, args, 0)?,
        &[
            ("X-Forwarded-Host", H::Host),
            ("X-Forwarded-Port", H::Port),
            ("X-Forwarded-Proto", H::Proto),
            ("Forwarded", H::Forwarded),
        ],
    )
    .map_err(|e| named(N, e))?;
    let x = cfg
        .x_forwarded_headers
        .get_or_insert_with(XForwardedHeaders::default);
    match h {
        H::Host => x.host = true,
        H::Port => x.port = true,
        H::Proto => x.proto = true,
        H::Forwarded => x.forwarded = true,
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod test_support {
    use super::*;

    pub fn exec(cmd: &str, root: Option<&Path>, timeout: Duration) -> Result<String, String> {
        exec_first_line(cmd, root, timeout)
    }
}
