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
    CacheType, ClaimsTarget, EndpointAuth, ExpiryFormat, HtmlTemplate, HttpMethod, InfoHookData,
    MemcacheServer, PassIdTokenAs, PassUserInfoAs, Pattern, PkceMethod, PrivateKeyFile,
    PublicKeyFile, PublicKeyType, RedisServer, RefreshOnError, RefreshPolicy, ResponseMode,
    ResponseType, Secret, SessionKind, SessionType, SharedKey, TokenExpiryClaim, UnAuthAction,
    UnAutzAction, UnAutzKind, UserInfoTokenMethod, XForwardedHeaders,
};
use super::url;
use super::values::{ClaimEncoding, RemoteUserClaim, TokenSource};
use crate::jose::{Alg, MIN_RSA_BITS};
use crate::oidc::authorize::StateInputHeaders;

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

/// The first argument of directive `name` as an integer in `min..=max`.
fn u32_in(name: &str, args: &Args, min: i64, max: i64) -> Result<u32, String> {
    let v = integer_in(arg(name, args, 0)?, min, max).map_err(|e| named(name, e))?;
    u32::try_from(v).map_err(|e| named(name, e))
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
    let key = public_key_file_arg("OIDCOAuthVerifyCertFiles", args)?;
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
    u32_in(name, args, 1, 3600)
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
    cfg.jwks_refresh_interval = Some(u32_in(N, args, 300, ONE_YEAR)?);
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
        "file" => {
            cfg.cache_type = Some(CacheType::File);
            Ok(())
        }
        "redis" => {
            cfg.cache_type = Some(CacheType::Redis);
            Ok(())
        }
        "memcache" => {
            cfg.cache_type = Some(CacheType::Memcache);
            Ok(())
        }
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

/// `OIDCProviderTokenEndpointAuth`. Improvement: `private_key_jwt` does not depend on the order
/// of directives (2.4.12.3 took it only after `OIDCPrivateKeyFiles`); `check_server` requires the
/// keys, and a client secret for the `client_secret_*` methods.
pub fn provider_token_endpoint_auth(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCProviderTokenEndpointAuth";
    let v = arg(N, args, 0)?;
    let auth = one_of(v, ENDPOINT_AUTH_ALL).map_err(|e| named(N, e))?;
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

// ---------------------------------------------------------------------------------------------
// OpenID Connect relying party (issue 3): provider

/// An endpoint URL of the provider: https, or http to a loopback host.
fn provider_url(name: &str, args: &Args) -> Result<String, String> {
    let v = arg(name, args, 0)?;
    url::check_https_or_loopback(v).map_err(|e| named(name, e))?;
    Ok(v.to_string())
}

pub fn provider_issuer(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCProviderIssuer";
    let v = non_empty(N, arg(N, args, 0)?)?;
    if let Some(c) = v.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(named(
            N,
            format!("\"{v}\" contains a forbidden character ({c:?})"),
        ));
    }
    cfg.provider_issuer = Some(v.to_string());
    Ok(())
}

pub fn provider_authorization_endpoint(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.provider_authorization_endpoint =
        Some(provider_url("OIDCProviderAuthorizationEndpoint", args)?);
    Ok(())
}

pub fn provider_token_endpoint(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.provider_token_endpoint = Some(provider_url("OIDCProviderTokenEndpoint", args)?);
    Ok(())
}

pub fn provider_userinfo_endpoint(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.provider_userinfo_endpoint = Some(provider_url("OIDCProviderUserInfoEndpoint", args)?);
    Ok(())
}

pub fn provider_jwks_uri(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.provider_jwks_uri = Some(provider_url("OIDCProviderJwksUri", args)?);
    Ok(())
}

/// Improvement: https (or http to loopback) like the other endpoints; 2.4.12.3 took plain http.
pub fn provider_end_session_endpoint(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.provider_end_session_endpoint = Some(provider_url("OIDCProviderEndSessionEndpoint", args)?);
    Ok(())
}

/// Checks `k=v&k2=v2` (already form-encoded): every non-empty part has a non-empty name and
/// there are no spaces or control characters.
fn check_form_params(v: &str) -> Result<(), String> {
    if let Some(c) = v.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "\"{v}\" contains a forbidden character ({c:?}); the parameters must be form-encoded"
        ));
    }
    for part in v.split('&').filter(|p| !p.is_empty()) {
        let name = part.split_once('=').map_or(part, |(n, _)| n);
        if name.is_empty() {
            return Err(format!(
                "\"{part}\" in \"{v}\" has no parameter name; use <name>=<value>[&<name>=<value>]*"
            ));
        }
    }
    Ok(())
}

fn form_params(name: &str, args: &Args) -> Result<String, String> {
    let v = arg(name, args, 0)?;
    check_form_params(v).map_err(|e| named(name, e))?;
    Ok(v.to_string())
}

pub fn provider_token_endpoint_params(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.provider_token_endpoint_params =
        Some(form_params("OIDCProviderTokenEndpointParams", args)?);
    Ok(())
}

/// `[<kid>#]<filename>`: a PEM public key or X.509 certificate, read now.
fn public_key_file_arg(name: &str, args: &Args) -> Result<PublicKeyFile, String> {
    let v = arg(name, args, 0)?;
    let (kid, file) = split_kid_file(name, v)?;
    let path = server_root_relative(file, args.server_root);
    read_public_key_file(&path, kid).map_err(|e| named(name, e))
}

fn split_kid_file<'a>(name: &str, v: &'a str) -> Result<(Option<&'a str>, &'a str), String> {
    let (kid, file) = match v.split_once('#') {
        Some((kid, file)) => (Some(kid).filter(|k| !k.is_empty()), file),
        None => (None, v),
    };
    if file.is_empty() {
        return Err(named(name, format!("no file name in \"{v}\"")));
    }
    Ok((kid, file))
}

pub fn provider_verify_cert_files(cfg: &mut ServerConfig, args: &Args) -> R {
    let key = public_key_file_arg("OIDCProviderVerifyCertFiles", args)?;
    cfg.provider_verify_cert_files.push(key);
    Ok(())
}

/// 0 (the default: metadata is fetched again after 24 hours) up to one year.
pub fn provider_metadata_refresh_interval(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCProviderMetadataRefreshInterval";
    cfg.provider_metadata_refresh_interval = Some(u32_in(N, args, 0, ONE_YEAR)?);
    Ok(())
}

pub fn provider_auth_request_method(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCProviderAuthRequestMethod";
    let m = one_of(
        arg(N, args, 0)?,
        &[("GET", HttpMethod::Get), ("POST", HttpMethod::Post)],
    )
    .map_err(|e| named(N, e))?;
    cfg.provider_auth_request_method = Some(m);
    Ok(())
}

/// Only `On` (the default): the issuer of ID tokens is always validated; `Off` is refused rather
/// than accepted and ignored.
pub fn validate_issuer(_cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCValidateIssuer";
    if parse::boolean(arg(N, args, 0)?).map_err(|e| named(N, e))? {
        Ok(())
    } else {
        Err(format!(
            "{N} Off is not supported yet by mod_auth_openidc_rs"
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect relying party: client

/// `OIDCPrivateKeyFiles`, one file per call: `[<kid>#]<filename>`, an unencrypted PEM RSA
/// (2048 bits or more) or EC private key, read now so that a bad file stops the startup.
pub fn private_key_files(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCPrivateKeyFiles";
    let v = arg(N, args, 0)?;
    let (kid, file) = split_kid_file(N, v)?;
    let path = server_root_relative(file, args.server_root);
    let key = read_private_key_file(&path, kid).map_err(|e| named(N, e))?;
    cfg.private_key_files.push(key);
    Ok(())
}

fn read_private_key_file(path: &Path, kid: Option<&str>) -> Result<PrivateKeyFile, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("cannot read \"{shown}\": {e}"))?;
    let mut pem = Vec::new();
    file.take(MAX_KEY_FILE)
        .read_to_end(&mut pem)
        .map_err(|e| format!("cannot read \"{shown}\": {e}"))?;
    let pem = Secret::new(pem);
    if pem.expose().windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(format!(
            "\"{shown}\" holds an encrypted private key; only unencrypted PEM keys are supported"
        ));
    }
    // an empty passphrase: never an interactive prompt
    let pkey = PKey::private_key_from_pem_passphrase(pem.expose(), b"")
        .map_err(|_| format!("\"{shown}\" holds no PEM private key"))?;
    let key_type = match pkey.id() {
        Id::RSA => {
            let bits = pkey.bits();
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "the RSA key in \"{shown}\" has {bits} bits; at least {MIN_RSA_BITS} are required"
                ));
            }
            PublicKeyType::Rsa
        }
        Id::EC => PublicKeyType::Ec,
        _ => {
            return Err(format!(
                "\"{shown}\" holds a key of an unsupported type (only RSA and EC keys are supported)"
            ));
        }
    };
    // What the token endpoint's client authentication will sign with must load now, with the
    // signer's own rules (key sizes, curves), not fail in every child later.
    crate::jose::SigningKey::from_pem(None, pem.expose())
        .map_err(|e| format!("\"{shown}\": {e}"))?;
    let pkcs8 = pkey
        .private_key_to_pkcs8()
        .map_err(|e| format!("cannot encode the private key in \"{shown}\": {e}"))?;
    let spki_der = pkey
        .public_key_to_der()
        .map_err(|e| format!("cannot encode the public key in \"{shown}\": {e}"))?;
    Ok(PrivateKeyFile {
        kid: kid.map(str::to_string),
        path: path.to_path_buf(),
        key_type,
        pkcs8_der: Secret::new(pkcs8),
        spki_der,
    })
}

pub fn id_token_signed_response_alg(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCIDTokenSignedResponseAlg";
    let v = arg(N, args, 0)?;
    match Alg::from_name(v) {
        Some(alg) => {
            cfg.id_token_signed_response_alg = Some(alg);
            Ok(())
        }
        None => {
            let names: Vec<&str> = Alg::ALL.iter().map(|a| a.name()).collect();
            Err(named(
                N,
                format!(
                    "unsupported/invalid signing algorithm \"{v}\"; must be one of {}",
                    names.join("|")
                ),
            ))
        }
    }
}

/// 0 to 3600 seconds, as 2.4.12.3.
pub fn id_token_iat_slack(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCIDTokenIatSlack";
    cfg.id_token_iat_slack = Some(u32_in(N, args, 0, 3600)?);
    Ok(())
}

pub fn userinfo_token_method(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCUserInfoTokenMethod";
    let m = one_of(arg(N, args, 0)?, UserInfoTokenMethod::VALUES).map_err(|e| named(N, e))?;
    cfg.userinfo_token_method = Some(m);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect relying party: authentication request and state

pub fn auth_request_params(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.auth_request_params = Some(form_params("OIDCAuthRequestParams", args)?);
    Ok(())
}

/// The `OIDCPath*` directives take an httpd string expression in 2.4.12.3; a plain string is the
/// same as an expression without variables, which is all we take for now.
fn no_expression(name: &str, v: &str) -> R {
    if v.contains("%{") {
        Err(named(
            name,
            format!(
                "expressions (\"%{{...}}\" in \"{v}\") are not supported yet by mod_auth_openidc_rs"
            ),
        ))
    } else {
        Ok(())
    }
}

pub fn path_scope(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCPathScope";
    let v = arg(N, args, 0)?;
    no_expression(N, v)?;
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(named(
            N,
            format!("\"{v}\" contains a forbidden character ({c:?})"),
        ));
    }
    cfg.path_scope = Some(v.to_string());
    Ok(())
}

pub fn path_auth_request_params(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCPathAuthRequestParams";
    let v = arg(N, args, 0)?;
    no_expression(N, v)?;
    check_form_params(v).map_err(|e| named(N, e))?;
    cfg.path_auth_request_params = Some(v.to_string());
    Ok(())
}

pub fn response_mode(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCResponseMode";
    let m = one_of(
        arg(N, args, 0)?,
        &[
            ("fragment", ResponseMode::Fragment),
            ("query", ResponseMode::Query),
            ("form_post", ResponseMode::FormPost),
        ],
    )
    .map_err(|e| named(N, e))?;
    cfg.response_mode = Some(m);
    Ok(())
}

/// `S256`, `plain` or `none` (2.4.12.3: `plain`, `S256` or `referred_tb`; no PKCE when unset).
pub fn pkce_method(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCPKCEMethod";
    let v = arg(N, args, 0)?;
    if v == "referred_tb" {
        return Err(named(
            N,
            "\"referred_tb\" (token binding) is not supported by mod_auth_openidc_rs; use \"S256\", \"plain\" or \"none\"",
        ));
    }
    let m = one_of(
        v,
        &[
            ("S256", PkceMethod::S256),
            ("plain", PkceMethod::Plain),
            ("none", PkceMethod::None),
        ],
    )
    .map_err(|e| named(N, e))?;
    cfg.pkce_method = Some(m);
    Ok(())
}

pub fn state_timeout(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCStateTimeout";
    cfg.state_timeout = Some(u32_in(N, args, 1, ONE_YEAR)?);
    Ok(())
}

/// `OIDCStateMaxNumberOfCookies <0-255> [<boolean: delete the oldest>]`.
pub fn state_max_number_of_cookies(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCStateMaxNumberOfCookies";
    let v = u32_in(N, args, 0, 255)?;
    let delete = match opt(args, 1) {
        Some(b) => Some(parse::boolean(b).map_err(|e| named(N, e))?),
        None => None,
    };
    cfg.state_max_number_of_cookies = Some(v);
    if delete.is_some() {
        cfg.state_delete_oldest_cookies = delete;
    }
    Ok(())
}

pub fn state_input_headers(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCStateInputHeaders";
    let v = arg(N, args, 0)?;
    let h = StateInputHeaders::parse(v).ok_or_else(|| {
        named(
            N,
            not_one_of(v, &["both", "user-agent", "x-forwarded-for", "none"]),
        )
    })?;
    cfg.state_input_headers = Some(h);
    Ok(())
}

/// A cookie name: an RFC 6265 token.
fn cookie_name<'a>(name: &str, v: &'a str) -> Result<&'a str, String> {
    if parse::is_header_token(v) {
        Ok(v)
    } else {
        Err(named(name, format!("\"{v}\" is not a valid cookie name")))
    }
}

/// Improvement: the prefix must be a non-empty cookie name (an empty prefix would make every
/// cookie of the browser look like a state cookie, to be cleaned up).
pub fn state_cookie_prefix(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCStateCookiePrefix";
    let v = cookie_name(N, arg(N, args, 0)?)?;
    cfg.state_cookie_prefix = Some(v.to_string());
    Ok(())
}

/// `OIDCUnAuthAction auth|pass|401|407|410`; the optional expression of 2.4.12.3 is refused.
pub fn unauth_action(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCUnAuthAction";
    let a = one_of(
        arg(N, args, 0)?,
        &[
            ("auth", UnAuthAction::Auth),
            ("pass", UnAuthAction::Pass),
            ("401", UnAuthAction::Return401),
            ("407", UnAuthAction::Return407),
            ("410", UnAuthAction::Return410),
        ],
    )
    .map_err(|e| named(N, e))?;
    if opt(args, 1).is_some() {
        return Err(named(
            N,
            "the expression (second) argument is not supported yet by mod_auth_openidc_rs",
        ));
    }
    cfg.unauth_action = Some(a);
    Ok(())
}

/// `OIDCUnAutzAction 401|403|302|auth [<arg>]`: for 401 and 403 the optional argument is a
/// message for an HTML error page; 302 needs the URL to redirect to (absolute http(s), or a path).
pub fn unautz_action(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCUnAutzAction";
    let kind = one_of(
        arg(N, args, 0)?,
        &[
            ("auth", UnAutzKind::Auth),
            ("401", UnAutzKind::Return401),
            ("403", UnAutzKind::Return403),
            ("302", UnAutzKind::Return302),
        ],
    )
    .map_err(|e| named(N, e))?;
    let extra = opt(args, 1);
    if kind == UnAutzKind::Return302 {
        let Some(u) = extra else {
            return Err(named(
                N,
                "the (2nd) URL argument to OIDCUnAutzAction must be set",
            ));
        };
        check_redirect_target(u).map_err(|e| named(N, e))?;
    }
    cfg.unautz_action = Some(UnAutzAction {
        kind,
        arg: extra.map(str::to_string),
    });
    Ok(())
}

/// An absolute http(s) URL or a path starting with `/` (not `//`), without whitespace or
/// control characters.
fn check_redirect_target(v: &str) -> R {
    if v.starts_with('/') && !v.starts_with("//") {
        match v.chars().find(|c| c.is_whitespace() || c.is_control()) {
            Some(c) => Err(format!("\"{v}\" contains a forbidden character ({c:?})")),
            None => Ok(()),
        }
    } else {
        url::parse_http_url(v).map(|_| ())
    }
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect relying party: sessions and cookies

/// `server-cache[:persistent]` or `client-cookie[:persistent][:store_id_token]`.
pub fn session_type(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCSessionType";
    const VALUES: [&str; 6] = [
        "server-cache",
        "server-cache:persistent",
        "client-cookie",
        "client-cookie:persistent",
        "client-cookie:store_id_token",
        "client-cookie:persistent:store_id_token",
    ];
    let v = arg(N, args, 0)?;
    if !VALUES.contains(&v) {
        return Err(named(N, not_one_of(v, &VALUES)));
    }
    let (kind, store_id_token) = if v.starts_with("client-cookie") {
        (SessionKind::ClientCookie, v.ends_with(":store_id_token"))
    } else {
        (SessionKind::ServerCache, true)
    };
    cfg.session_type = Some(SessionType {
        kind,
        persistent: v.contains(":persistent"),
        store_id_token,
    });
    Ok(())
}

/// `OIDCSessionCacheFallbackToCookie On|Off`.
pub fn session_cache_fallback_to_cookie(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCSessionCacheFallbackToCookie";
    cfg.session_cache_fallback_to_cookie =
        Some(parse::flag(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

/// `OIDCSessionCookieChunkSize`: 0 (no chunking, as the C module) or at least
/// [`MIN_SESSION_COOKIE_CHUNK_SIZE`] bytes.
pub fn session_cookie_chunk_size(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCSessionCookieChunkSize";
    let v = u32_in(N, args, 0, i64::from(i32::MAX))?;
    if v != 0 && i64::from(v) < MIN_SESSION_COOKIE_CHUNK_SIZE {
        return Err(format!(
            "{N}: {v} is too small: use 0 (no chunking) or at least {MIN_SESSION_COOKIE_CHUNK_SIZE} bytes (a session needs one cookie per chunk and browsers keep only a few dozen cookies per site)"
        ));
    }
    cfg.session_cookie_chunk_size = Some(v);
    Ok(())
}

/// The smallest `OIDCSessionCookieChunkSize` other than 0.
pub const MIN_SESSION_COOKIE_CHUNK_SIZE: i64 = 256;

/// 10 seconds to one year, as 2.4.12.3.
pub fn session_inactivity_timeout(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCSessionInactivityTimeout";
    cfg.session_inactivity_timeout = Some(u32_in(N, args, 10, ONE_YEAR)?);
    Ok(())
}

/// Letters, digits, `.` and `-` (2.4.12.3's check), and not empty.
pub fn cookie_domain(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCookieDomain";
    let v = non_empty(N, arg(N, args, 0)?)?;
    if let Some(c) = v
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
    {
        return Err(named(
            N,
            format!("invalid character '{c}' in cookie domain value: {v}"),
        ));
    }
    cfg.cookie_domain = Some(v.to_string());
    Ok(())
}

pub fn cookie_http_only(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCookieHTTPOnly";
    cfg.cookie_http_only = Some(parse::flag(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

pub fn cookie(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCCookie";
    let v = cookie_name(N, arg(N, args, 0)?)?;
    cfg.cookie = Some(v.to_string());
    Ok(())
}

/// Improvement: a path starting with `/`, without `;`, whitespace or control characters (they
/// would end up inside the `Set-Cookie` header).
pub fn cookie_path(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCCookiePath";
    let v = arg(N, args, 0)?;
    if !v.starts_with('/') {
        return Err(named(N, format!("\"{v}\" must start with \"/\"")));
    }
    if let Some(c) = v
        .chars()
        .find(|c| *c == ';' || c.is_whitespace() || c.is_control())
    {
        return Err(named(
            N,
            format!("\"{v}\" contains a forbidden character ({c:?})"),
        ));
    }
    cfg.cookie_path = Some(v.to_string());
    Ok(())
}

pub fn preserve_post(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCPreservePost";
    cfg.preserve_post = Some(parse::boolean(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

/// `<seconds> [logout_on_error|authenticate_on_error]`, seconds 0 to one year.
fn refresh_policy(name: &str, args: &Args) -> Result<RefreshPolicy, String> {
    let seconds = u32_in(name, args, 0, ONE_YEAR)?;
    let on_error = match opt(args, 1) {
        None => RefreshOnError::Continue,
        Some(o) => one_of(o, RefreshOnError::VALUES).map_err(|e| named(name, e))?,
    };
    Ok(RefreshPolicy { seconds, on_error })
}

pub fn refresh_access_token_before_expiry(cfg: &mut DirConfig, args: &Args) -> R {
    cfg.refresh_access_token_before_expiry =
        Some(refresh_policy("OIDCRefreshAccessTokenBeforeExpiry", args)?);
    Ok(())
}

pub fn userinfo_refresh_interval(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.userinfo_refresh_interval = Some(refresh_policy("OIDCUserInfoRefreshInterval", args)?);
    Ok(())
}

pub fn pass_refresh_token(cfg: &mut DirConfig, args: &Args) -> R {
    const N: &str = "OIDCPassRefreshToken";
    cfg.pass_refresh_token = Some(parse::flag(arg(N, args, 0)?).map_err(|e| named(N, e))?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// cache

/// 1 to 1,000,000 entries (2.4.12.3 took any integer).
pub fn cache_shm_max(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCacheShmMax";
    cfg.cache_shm_max = Some(u32_in(N, args, 1, 1_000_000)?);
    Ok(())
}

/// 8721 (8 KB plus overhead) to 524288 bytes, as 2.4.12.3.
pub fn cache_shm_entry_size_max(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCacheShmEntrySizeMax";
    cfg.cache_shm_entry_size_max = Some(u32_in(N, args, 8192 + 512 + 17, 1024 * 512)?);
    Ok(())
}

/// An existing directory (relative names are taken relative to ServerRoot).
pub fn cache_dir(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCacheDir";
    let v = non_empty(N, arg(N, args, 0)?)?;
    let path = server_root_relative(v, args.server_root);
    std::fs::read_dir(&path).map_err(|e| {
        named(
            N,
            format!("cannot access directory \"{}\": {e}", path.display()),
        )
    })?;
    cfg.cache_dir = Some(path);
    Ok(())
}

/// `<host>[:<port>]`, an IPv6 address in brackets (`[::1]:6379`); the port defaults to 6379.
pub fn redis_server(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedisCacheServer";
    let v = non_empty(N, arg(N, args, 0)?)?;
    let (host, port) =
        parse_host_port(v, super::server::defaults::REDIS_PORT).map_err(|e| named(N, e))?;
    cfg.redis_server = Some(RedisServer { host, port });
    Ok(())
}

/// `"<host>[:<port>]( <host>[:<port>])*"`: space separated as in 2.4.12.3, each like
/// `OIDCRedisCacheServer` with the port defaulting to 11211.
pub fn memcache_servers(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCMemCacheServers";
    let v = non_empty(N, arg(N, args, 0)?)?;
    let mut servers = Vec::new();
    for one in v.split_ascii_whitespace() {
        let (host, port) = parse_host_port(one, super::server::defaults::MEMCACHE_PORT)
            .map_err(|e| named(N, e))?;
        servers.push(MemcacheServer { host, port });
    }
    if servers.is_empty() {
        return Err(named(N, "no server given".to_string()));
    }
    cfg.memcache_servers = Some(servers);
    Ok(())
}

fn memcache_count(n: &str, args: &Args) -> Result<u32, String> {
    u32_in(n, args, 0, 65535)
}

pub fn memcache_min(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.memcache_min = Some(memcache_count("OIDCMemCacheConnectionsMin", args)?);
    Ok(())
}

pub fn memcache_smax(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.memcache_smax = Some(memcache_count("OIDCMemCacheConnectionsSMax", args)?);
    Ok(())
}

pub fn memcache_hmax(cfg: &mut ServerConfig, args: &Args) -> R {
    cfg.memcache_hmax = Some(memcache_count("OIDCMemCacheConnectionsHMax", args)?);
    Ok(())
}

/// 0 (the C module's "unset": 60 s) to one day.
pub fn memcache_ttl(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCMemCacheConnectionsTTL";
    cfg.memcache_ttl = Some(u32_in(N, args, 0, 86400)?);
    Ok(())
}

fn parse_host_port(v: &str, default_port: u16) -> Result<(String, u16), String> {
    if v.contains("://") {
        // The C module takes host[:port] only; URLs would mean TLS (rediss://), which is not
        // supported yet: say so instead of misreading the scheme as a host.
        return Err(format!(
            "\"{v}\": give host[:port]; URLs (such as rediss:// for TLS) are not supported yet"
        ));
    }
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("invalid server \"{v}\": missing \"]\""))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(format!("invalid server \"{v}\"")),
            },
        }
    } else {
        match v.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, Some(p)),
            Some(_) => {
                return Err(format!(
                    "invalid server \"{v}\": put an IPv6 address in brackets, e.g. [::1]:{default_port}"
                ));
            }
            None => (v, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    if !host_ok {
        return Err(format!("invalid host name in \"{v}\""));
    }
    let port = match port {
        None => default_port,
        Some(p) => {
            let n = integer_in(p, 1, 65535).map_err(|e| format!("invalid port in \"{v}\": {e}"))?;
            u16::try_from(n).map_err(|e| format!("invalid port in \"{v}\": {e}"))?
        }
    };
    Ok((host.to_string(), port))
}

pub fn redis_username(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedisCacheUsername";
    cfg.redis_username = Some(non_empty(N, arg(N, args, 0)?)?.to_string());
    Ok(())
}

pub fn redis_password(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedisCachePassword";
    cfg.redis_password = Some(Secret::new(non_empty(N, arg(N, args, 0)?)?.to_string()));
    Ok(())
}

/// A database number, 0 or more (the server refuses one it does not have at connect time).
pub fn redis_database(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedisCacheDatabase";
    cfg.redis_database = Some(u32_in(N, args, 0, i64::from(i32::MAX))?);
    Ok(())
}

/// 1 s to 1 hour (2.4.12.3 took any integer; 0 would mean "wait forever").
pub fn redis_connect_timeout(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedisCacheConnectTimeout";
    cfg.redis_connect_timeout = Some(u32_in(N, args, 1, 3600)?);
    Ok(())
}

/// 1 s to 1 hour (2.4.12.3 took any integer; 0 would mean "wait forever").
pub fn redis_timeout(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedisCacheTimeout";
    cfg.redis_timeout = Some(u32_in(N, args, 1, 3600)?);
    Ok(())
}

pub fn cache_file_clean_interval(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCCacheFileCleanInterval";
    cfg.cache_file_clean_interval = Some(u32_in(N, args, 0, ONE_YEAR)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// claims passed to the application

pub fn pass_id_token_as(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCPassIDTokenAs";
    #[derive(Clone, Copy)]
    enum P {
        Claims,
        Payload,
        Serialized,
    }
    let mut out = PassIdTokenAs {
        claims: false,
        payload: false,
        serialized: false,
    };
    if args.words.is_empty() {
        return Err(named(N, "missing argument"));
    }
    for w in &args.words {
        match one_of(
            w,
            &[
                ("claims", P::Claims),
                ("payload", P::Payload),
                ("serialized", P::Serialized),
            ],
        )
        .map_err(|e| named(N, e))?
        {
            P::Claims => out.claims = true,
            P::Payload => out.payload = true,
            P::Serialized => out.serialized = true,
        }
    }
    cfg.pass_id_token_as = Some(out);
    Ok(())
}

pub fn pass_userinfo_as(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCPassUserInfoAs";
    #[derive(Clone, Copy)]
    enum P {
        Claims,
        Json,
        Jwt,
    }
    let mut out = PassUserInfoAs {
        claims: false,
        json: false,
        jwt: false,
    };
    if args.words.is_empty() {
        return Err(named(N, "missing argument"));
    }
    for w in &args.words {
        match one_of(
            w,
            &[("claims", P::Claims), ("json", P::Json), ("jwt", P::Jwt)],
        )
        .map_err(|e| named(N, e))?
        {
            P::Claims => out.claims = true,
            P::Json => out.json = true,
            P::Jwt => out.jwt = true,
        }
    }
    cfg.pass_userinfo_as = Some(out);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// logout, redirects, info hook, error page

pub fn default_url(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCDefaultURL";
    let v = arg(N, args, 0)?;
    url::parse_http_url(v).map_err(|e| named(N, e))?;
    cfg.default_url = Some(v.to_string());
    Ok(())
}

pub fn default_logged_out_url(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCDefaultLoggedOutURL";
    let v = arg(N, args, 0)?;
    url::parse_http_url(v).map_err(|e| named(N, e))?;
    cfg.default_logged_out_url = Some(v.to_string());
    Ok(())
}

/// One regular expression per call, compiled now.
pub fn redirect_urls_allowed(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCRedirectURLsAllowed";
    let v = non_empty(N, arg(N, args, 0)?)?;
    let re = Regex::new(v).map_err(|e| {
        named(
            N,
            format!(
                "invalid regular expression \"{v}\": {}",
                parse::one_line(&e.to_string())
            ),
        )
    })?;
    if !cfg.redirect_urls_allowed.iter().any(|p| p.as_str() == v) {
        cfg.redirect_urls_allowed.push(Pattern(re));
    }
    Ok(())
}

/// A header value: not empty, no control characters.
pub fn logout_x_frame_options(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCLogoutXFrameOptions";
    let v = non_empty(N, arg(N, args, 0)?)?;
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(named(
            N,
            format!("\"{v}\" contains a forbidden character ({c:?})"),
        ));
    }
    cfg.logout_x_frame_options = Some(v.to_string());
    Ok(())
}

pub fn info_hook(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCInfoHook";
    let item = one_of(arg(N, args, 0)?, InfoHookData::ALL).map_err(|e| named(N, e))?;
    if !cfg.info_hook_data.contains(&item) {
        cfg.info_hook_data.push(item);
    }
    Ok(())
}

/// Templates are small; this bounds what a wrong path can make us read.
const MAX_TEMPLATE_FILE: u64 = 1 << 20;

/// Read now (2.4.12.3 read it on every error), so that a missing file stops the startup.
pub fn html_error_template(cfg: &mut ServerConfig, args: &Args) -> R {
    const N: &str = "OIDCHTMLErrorTemplate";
    let v = non_empty(N, arg(N, args, 0)?)?;
    let path = server_root_relative(v, args.server_root);
    let shown = path.display().to_string();
    check_readable_file(&path).map_err(|e| named(N, e))?;
    let file = File::open(&path).map_err(|e| named(N, format!("cannot read \"{shown}\": {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_TEMPLATE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| named(N, format!("cannot read \"{shown}\": {e}")))?;
    if bytes.len() as u64 > MAX_TEMPLATE_FILE {
        return Err(named(N, format!("\"{shown}\" is larger than 1 MB")));
    }
    let content = String::from_utf8(bytes)
        .map_err(|_| named(N, format!("\"{shown}\" is not valid UTF-8")))?;
    cfg.html_error_template = Some(HtmlTemplate { path, content });
    Ok(())
}

#[cfg(test)]
pub(super) mod test_support {
    use super::*;

    pub fn exec(cmd: &str, root: Option<&Path>, timeout: Duration) -> Result<String, String> {
        exec_first_line(cmd, root, timeout)
    }
}
