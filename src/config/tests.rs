use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::parse::getword_conf;
use super::values::{ClaimEncoding, PassClaimsAs, RemoteUserClaim, TokenSource};
use super::*;

// ---------------------------------------------------------------------------------------------
// helpers

/// Applies `lines` (directive name, words) in order to one server and one dir config.
fn apply_all(lines: &[(&str, &[&str])]) -> Result<(ServerConfig, DirConfig), String> {
    let mut s = ServerConfig::default();
    let mut d = DirConfig::default();
    for (name, words) in lines {
        let Some((_, dir)) = find(name) else {
            panic!("unknown directive {name}");
        };
        dir.apply_to(&mut s, &mut d, &Args::new(words))?;
    }
    Ok((s, d))
}

fn run(name: &str, words: &[&str]) -> Result<(ServerConfig, DirConfig), String> {
    apply_all(&[(name, words)])
}

fn srv(name: &str, words: &[&str]) -> ServerConfig {
    match run(name, words) {
        Ok((s, _)) => s,
        Err(e) => panic!("{name} {words:?}: {e}"),
    }
}

fn dir(name: &str, words: &[&str]) -> DirConfig {
    match run(name, words) {
        Ok((_, d)) => d,
        Err(e) => panic!("{name} {words:?}: {e}"),
    }
}

fn err(name: &str, words: &[&str]) -> String {
    match run(name, words) {
        Ok(_) => panic!("{name} {words:?} was accepted"),
        Err(e) => e,
    }
}

/// Splits a configuration line the way httpd does for the directive's shape and applies it.
fn apply_line(
    s: &mut ServerConfig,
    d: &mut DirConfig,
    line: &str,
    root: Option<&Path>,
) -> Result<(), String> {
    let (name, rest) = getword_conf(line);
    let Some((_, directive)) = find(&name) else {
        return Err(format!("Invalid command '{name}'"));
    };
    let mut words = Vec::new();
    let mut r = rest;
    while !r.is_empty() {
        let (w, next) = getword_conf(r);
        words.push(w);
        r = next;
    }
    let run_one = |s: &mut ServerConfig, d: &mut DirConfig, ws: Vec<&str>| {
        let mut args = Args::new(&ws);
        args.server_root = root;
        directive.apply_to(s, d, &args)
    };
    match directive.shape {
        ArgShape::RawArgs => run_one(s, d, vec![rest]),
        ArgShape::Iterate => {
            for w in &words {
                run_one(s, d, vec![w.as_str()])?;
            }
            Ok(())
        }
        _ => run_one(s, d, words.iter().map(String::as_str).collect()),
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "mod_auth_openidc_rs-config-{}-{tag}",
        std::process::id()
    ));
    std::fs::create_dir_all(&p).unwrap();
    p
}

// ---------------------------------------------------------------------------------------------
// the table

#[test]
fn table_has_every_directive_once() {
    // 129 in 2.4.12.3 (3 of them removed later) + 20 added up to 2.4.20.2
    assert_eq!(DIRECTIVES.len(), 149);
    let names: HashSet<String> = DIRECTIVES
        .iter()
        .map(|d| d.name_str().to_ascii_lowercase())
        .collect();
    assert_eq!(names.len(), 149, "duplicate names");
    let count = |f: fn(&Origin) -> bool| DIRECTIVES.iter().filter(|d| f(&d.origin)).count();
    assert_eq!(count(|o| matches!(o, Origin::Base)), 126);
    assert_eq!(count(|o| matches!(o, Origin::Added(_))), 20);
    assert_eq!(count(|o| matches!(o, Origin::Removed(_))), 3);
    for removed in [
        "OIDCHTMLErrorTemplate",
        "OIDCTokenBindingPolicy",
        "OIDCOAuthAccessTokenBindingPolicy",
    ] {
        assert!(
            matches!(find(removed).unwrap().1.origin, Origin::Removed(_)),
            "{removed}"
        );
    }
    for d in DIRECTIVES {
        let n = d.name_str();
        assert!(
            n.starts_with("OIDC") && n.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{n}"
        );
        assert!(
            !d.doc_str().is_empty() && !d.syntax.is_empty() && !d.default.is_empty(),
            "{n}"
        );
    }
}

#[test]
fn table_matches_the_c_source() {
    let expected = include_str!("testdata/c_directives.txt");
    let mut seen = 0;
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut parts = line.split(' ');
        let (Some(name), Some(take), Some(scope)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("bad line {line}");
        };
        let (_, d) = find(name).unwrap_or_else(|| panic!("{name} missing from the table"));
        assert_eq!(d.name_str(), name, "exact case");
        let shape = match take {
            "TAKE1" => ArgShape::Take1,
            "TAKE2" => ArgShape::Take2,
            "TAKE12" => ArgShape::Take12,
            "TAKE123" => ArgShape::Take123,
            "ITERATE" => ArgShape::Iterate,
            "FLAG" => ArgShape::Flag,
            "RAW_ARGS" => ArgShape::RawArgs,
            other => panic!("{other}"),
        };
        assert_eq!(d.shape, shape, "{name}");
        let scope = match scope {
            "RSRC_CONF" => Scope::Server,
            "RSRC_CONF|ACCESS_CONF|OR_AUTHCFG" => Scope::ServerAndDir,
            other => panic!("{other}"),
        };
        assert_eq!(d.scope, scope, "{name}");
        seen += 1;
    }
    assert_eq!(seen, DIRECTIVES.len());
}

#[test]
fn sections_are_contiguous_and_apply_matches_scope() {
    let mut done = Vec::new();
    let mut current = None;
    for d in DIRECTIVES {
        if current != Some(d.section) {
            assert!(!done.contains(&d.section), "{:?} split", d.section);
            if let Some(c) = current {
                done.push(c);
            }
            current = Some(d.section);
        }
        // a Dir parser needs a directive allowed in directory context
        if let Apply::Dir(_) = d.apply {
            assert_eq!(d.scope, Scope::ServerAndDir, "{}", d.name_str());
        }
        if let Origin::Removed(_) = d.origin {
            assert_eq!(d.section, Section::Removed);
        }
    }
}

#[test]
fn find_is_case_insensitive() {
    let (i, d) = find("oidcoauthverifyjwksuri").unwrap();
    assert_eq!(d.name_str(), "OIDCOAuthVerifyJwksUri");
    // DIRECTIVES is a `const`: compare entries by name, not by address
    assert_eq!(DIRECTIVES[i].name, d.name);
    assert_eq!(
        find("OIDCPASSCLAIMSAS").unwrap().1.name_str(),
        "OIDCPassClaimsAs"
    );
    assert!(find("OIDCNoSuchThing").is_none());
    assert!(find("").is_none());
}

/// The glue builds its `command_rec[]` in const context by indexing the table in a loop.
#[test]
fn table_is_usable_in_const_context() {
    const N: usize = DIRECTIVES.len();
    const NAMES: [&std::ffi::CStr; N] = {
        let mut out = [c""; N];
        let mut i = 0;
        while i < N {
            out[i] = DIRECTIVES[i].name;
            i += 1;
        }
        out
    };
    const FIRST_SHAPE: ArgShape = DIRECTIVES[0].shape;
    assert_eq!(NAMES.len(), 149);
    assert_eq!(NAMES[0], DIRECTIVES[0].name);
    assert_eq!(FIRST_SHAPE, DIRECTIVES[0].shape);
}

const SUPPORTED: &[&str] = &[
    "OIDCRefreshAccessTokenBeforeExpiry",
    "OIDCUserInfoRefreshInterval",
    "OIDCOAuthVerifyJwksUri",
    "OIDCOAuthVerifySharedKeys",
    "OIDCOAuthVerifyCertFiles",
    "OIDCOAuthVerifyAudience",
    "OIDCOAuthVerifyIssuer",
    "OIDCOAuthTokenExpiryClaim",
    "OIDCOAuthIntrospectionEndpoint",
    "OIDCOAuthIntrospectionEndpointAuth",
    "OIDCOAuthIntrospectionClientAuthBearerToken",
    "OIDCOAuthIntrospectionEndpointMethod",
    "OIDCOAuthIntrospectionEndpointParams",
    "OIDCOAuthIntrospectionTokenParamName",
    "OIDCOAuthTokenIntrospectionInterval",
    "OIDCOAuthClientID",
    "OIDCOAuthClientSecret",
    "OIDCOAuthServerMetadataURL",
    "OIDCOAuthSSLValidateServer",
    "OIDCOAuthRemoteUserClaim",
    "OIDCOAuthAcceptTokenAs",
    "OIDCClaimPrefix",
    "OIDCClaimDelimiter",
    "OIDCPassClaimsAs",
    "OIDCAuthNHeader",
    "OIDCCABundlePath",
    "OIDCSSLValidateServer",
    "OIDCHTTPTimeoutShort",
    "OIDCHTTPTimeoutLong",
    "OIDCJWKSRefreshInterval",
    "OIDCCacheType",
    "OIDCCacheEncrypt",
    "OIDCWhiteListedClaims",
    "OIDCBlackListedClaims",
    "OIDCResponseType",
    "OIDCScope",
    "OIDCProviderMetadataURL",
    "OIDCClientID",
    "OIDCClientSecret",
    "OIDCProviderTokenEndpointAuth",
    "OIDCCryptoPassphrase",
    "OIDCRedirectURI",
    "OIDCRemoteUserClaim",
    "OIDCSessionMaxDuration",
    "OIDCCookieSameSite",
    "OIDCXForwardedHeaders",
    "OIDCStripCookies",
    "OIDCPassAccessToken",
    // issue 3: browser login
    "OIDCProviderIssuer",
    "OIDCProviderAuthorizationEndpoint",
    "OIDCProviderTokenEndpoint",
    "OIDCProviderTokenEndpointParams",
    "OIDCProviderUserInfoEndpoint",
    "OIDCProviderEndSessionEndpoint",
    "OIDCProviderJwksUri",
    "OIDCProviderVerifyCertFiles",
    "OIDCProviderMetadataRefreshInterval",
    "OIDCProviderAuthRequestMethod",
    "OIDCValidateIssuer",
    "OIDCPrivateKeyFiles",
    "OIDCIDTokenSignedResponseAlg",
    "OIDCIDTokenIatSlack",
    "OIDCUserInfoTokenMethod",
    "OIDCPathScope",
    "OIDCAuthRequestParams",
    "OIDCPathAuthRequestParams",
    "OIDCResponseMode",
    "OIDCPKCEMethod",
    "OIDCStateCookiePrefix",
    "OIDCStateInputHeaders",
    "OIDCStateTimeout",
    "OIDCStateMaxNumberOfCookies",
    "OIDCUnAuthAction",
    "OIDCUnAutzAction",
    "OIDCSessionType",
    "OIDCSessionInactivityTimeout",
    "OIDCSessionCacheFallbackToCookie",
    "OIDCSessionCookieChunkSize",
    "OIDCCookie",
    "OIDCCookieDomain",
    "OIDCCookiePath",
    "OIDCCookieHTTPOnly",
    "OIDCCacheShmMax",
    "OIDCCacheShmEntrySizeMax",
    "OIDCCacheDir",
    "OIDCCacheFileCleanInterval",
    // issue 4: redis
    "OIDCRedisCacheServer",
    "OIDCRedisCacheUsername",
    "OIDCRedisCachePassword",
    "OIDCRedisCacheDatabase",
    "OIDCRedisCacheConnectTimeout",
    "OIDCRedisCacheTimeout",
    // issue 4: memcache
    "OIDCMemCacheServers",
    "OIDCMemCacheConnectionsMin",
    "OIDCMemCacheConnectionsSMax",
    "OIDCMemCacheConnectionsHMax",
    "OIDCMemCacheConnectionsTTL",
    "OIDCPassIDTokenAs",
    "OIDCPassUserInfoAs",
    "OIDCPassRefreshToken",
    "OIDCDefaultLoggedOutURL",
    "OIDCDefaultURL",
    "OIDCRedirectURLsAllowed",
    "OIDCLogoutXFrameOptions",
    "OIDCInfoHook",
    "OIDCHTMLErrorTemplate",
    "OIDCPreservePost",
];

#[test]
fn supported_set_is_exactly_the_planned_one() {
    let supported: HashSet<&str> = DIRECTIVES
        .iter()
        .filter(|d| d.is_supported())
        .map(|d| d.name_str())
        .collect();
    let planned: HashSet<&str> = SUPPORTED.iter().copied().collect();
    assert_eq!(supported, planned);
    for n in SUPPORTED {
        assert!(
            is_supported(n) && is_supported(&n.to_ascii_uppercase()),
            "{n}"
        );
    }
    assert!(!is_supported("OIDCMetadataDir"));
    assert!(!is_supported("OIDCNoSuchThing"));
    let unsupported = unsupported_names();
    assert_eq!(unsupported.len(), 149 - SUPPORTED.len());
    assert!(unsupported.contains(&"OIDCMetadataDir"));
    assert!(!unsupported.contains(&"OIDCScope"));
}

#[test]
fn unsupported_directives_give_the_exact_message() {
    for d in DIRECTIVES.iter().filter(|d| !d.is_supported()) {
        let words: Vec<&str> = match d.shape {
            ArgShape::Take2 | ArgShape::Iterate2 => vec!["a", "b"],
            ArgShape::Take3 => vec!["a", "b", "c"],
            ArgShape::Flag => vec!["On"],
            ArgShape::NoArgs => vec![],
            _ => vec!["a"],
        };
        let mut s = ServerConfig::default();
        let mut dc = DirConfig::default();
        let e = d.apply_to(&mut s, &mut dc, &Args::new(&words)).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{} is not supported yet by mod_auth_openidc_rs",
                d.name_str()
            )
        );
        assert_eq!(e, d.unsupported_message());
        // nothing was stored
        assert_eq!(s, ServerConfig::default());
        assert_eq!(dc, DirConfig::default());
    }
    assert_eq!(
        err("OIDCMetadataDir", &["/tmp"]),
        "OIDCMetadataDir is not supported yet by mod_auth_openidc_rs"
    );
}

#[test]
fn wrong_argument_counts_are_errors_not_panics() {
    for d in DIRECTIVES {
        for n in 0..5 {
            if d.shape.accepts(n) {
                continue;
            }
            let words = vec!["x"; n];
            let mut s = ServerConfig::default();
            let mut dc = DirConfig::default();
            let e = d.apply_to(&mut s, &mut dc, &Args::new(&words)).unwrap_err();
            assert!(e.starts_with(&format!("{} takes ", d.name_str())), "{e}");
        }
        // the parsers themselves cope with missing words too
        let mut s = ServerConfig::default();
        let mut dc = DirConfig::default();
        let empty = Args::new(&[]);
        let _ = match d.apply {
            Apply::Server(f) => f(&mut s, &empty),
            Apply::Dir(f) => f(&mut dc, &empty),
            Apply::Unsupported => Ok(()),
        };
    }
}

// ---------------------------------------------------------------------------------------------
// the example configurations

/// The OIDC lines of /work/shared/examples/*.conf (copied so that the test does not depend on
/// files outside the repository).
const EXAMPLE_LINES: &[&str] = &[
    // aurora-scheduler.conf
    "OIDCProviderMetadataURL https://keycloak.example.com/realms/myrealm/.well-known/openid-configuration",
    "OIDCClientID aurora-scheduler",
    "OIDCClientSecret <secret>",
    "OIDCRedirectURI https://aurora.example.com/oauth2/callback",
    "OIDCCryptoPassphrase <random-string-at-least-32-chars>",
    "OIDCScope \"openid email profile\"",
    "OIDCRemoteUserClaim email",
    "OIDCSessionMaxDuration 28800",
    "OIDCCookieSameSite On",
    "OIDCXForwardedHeaders X-Forwarded-Proto X-Forwarded-Host",
    // mesos-proxy.conf
    "OIDCClaimPrefix \"OIDC-\"",
    "OIDCResponseType \"code\"",
    "OIDCScope \"openid email profile\"",
    "OIDCProviderMetadataURL https://iam.example.org/.well-known/openid-configuration",
    "OIDCClientID 332e618b-d3bf-440d-aea1-6da2823aaece",
    "OIDCClientSecret ****",
    "OIDCProviderTokenEndpointAuth client_secret_basic",
    "OIDCCryptoPassphrase ****",
    "OIDCRedirectURI https://mesos.example.com/mesos/redirect_uri",
    "OIDCOAuthVerifyJwksUri \"https://iam.example.org/jwk\"",
];

#[test]
fn example_configurations_load() {
    let mut s = ServerConfig::default();
    let mut d = DirConfig::default();
    for line in EXAMPLE_LINES {
        apply_line(&mut s, &mut d, line, None).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    assert_eq!(s.claim_prefix(), "OIDC-");
    assert_eq!(s.scope(), "openid email profile");
    assert_eq!(
        s.oauth_verify_jwks_uri.as_deref(),
        Some("https://iam.example.org/jwk")
    );
    assert_eq!(s.response_type, Some(ResponseType::Code));
    assert_eq!(
        s.provider_token_endpoint_auth,
        Some(EndpointAuth::ClientSecretBasic)
    );
    assert_eq!(s.remote_user_claim().claim, "email");
    assert!(!s.remote_user_claim().append_issuer);
    assert_eq!(
        s.x_forwarded_headers(),
        XForwardedHeaders {
            host: true,
            proto: true,
            ..Default::default()
        }
    );
    assert!(s.cookie_same_site());
    assert_eq!(
        s.crypto_passphrase.as_ref().map(|p| p.expose().as_str()),
        Some("****")
    );
    // a complete RP + RS config: no errors, only the aud warning
    let problems = check_server(&s);
    assert!(
        problems.iter().all(|p| p.severity == Severity::Warning),
        "{problems:?}"
    );
}

/// Also read the example files themselves when they are at hand (in the development tree).
#[test]
fn example_files_use_only_supported_directives() {
    let Ok(entries) = std::fs::read_dir("/work/shared/examples") else {
        return;
    };
    let mut lines = HashSet::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "conf") {
            let text = std::fs::read_to_string(&path).unwrap();
            for l in text
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("OIDC"))
            {
                lines.insert(l.to_string());
            }
        }
    }
    for l in &lines {
        let (name, _) = getword_conf(l);
        assert!(
            is_supported(&name),
            "{name} is used by an example but not supported"
        );
        assert!(
            EXAMPLE_LINES.contains(&l.as_str()),
            "EXAMPLE_LINES lacks {l}"
        );
        let mut s = ServerConfig::default();
        let mut d = DirConfig::default();
        apply_line(&mut s, &mut d, l, None).unwrap_or_else(|e| panic!("{l}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 resource server directives

const LOOPBACK_ONLY: &str = "must be an https URL (plain http is allowed only to loopback hosts: 127.0.0.0/8, ::1, localhost)";

#[test]
fn https_or_loopback_urls() {
    for (name, get) in [
        (
            "OIDCOAuthVerifyJwksUri",
            (|s: &ServerConfig| s.oauth_verify_jwks_uri.clone())
                as fn(&ServerConfig) -> Option<String>,
        ),
        ("OIDCOAuthIntrospectionEndpoint", |s| {
            s.oauth_introspection_endpoint.clone()
        }),
        ("OIDCOAuthServerMetadataURL", |s| {
            s.oauth_server_metadata_url.clone()
        }),
    ] {
        for good in [
            "https://as.example.com/x",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]/x",
            "HTTPS://AS.example.com",
        ] {
            assert_eq!(
                get(&srv(name, &[good])).as_deref(),
                Some(good),
                "{name} {good}"
            );
        }
        assert_eq!(
            err(name, &["http://as.example.com/x"]),
            format!("{name}: \"http://as.example.com/x\" {LOOPBACK_ONLY}")
        );
        assert_eq!(
            err(name, &["as.example.com/x"]),
            format!("{name}: \"as.example.com/x\" cannot be parsed as a URL (no scheme set)")
        );
        assert_eq!(
            err(name, &["https:/as.example.com/x"]),
            format!("{name}: \"https:/as.example.com/x\" has no host name (check your slashes)")
        );
        assert_eq!(
            err(name, &["ftp://as.example.com/x"]),
            format!(
                "{name}: \"ftp://as.example.com/x\" must be an \"https\" or \"http\" URL (scheme is \"ftp\")"
            )
        );
    }
}

#[test]
fn shared_keys() {
    let (s, _) = apply_all(&[
        ("OIDCOAuthVerifySharedKeys", &["plainsecret"]),
        ("OIDCOAuthVerifySharedKeys", &["kid1#secret1"]),
        ("OIDCOAuthVerifySharedKeys", &["b64#kid2#c2VjcmV0Mg=="]),
        ("OIDCOAuthVerifySharedKeys", &["b64url#kid3#_-8"]),
        ("OIDCOAuthVerifySharedKeys", &["hex##00ff10"]),
        ("OIDCOAuthVerifySharedKeys", &["plain#kid5#a#b"]),
        ("OIDCOAuthVerifySharedKeys", &["b64#kid6#c2VjcmV0Mg"]),
    ])
    .unwrap();
    let keys: Vec<(Option<&str>, &[u8])> = s
        .oauth_verify_shared_keys
        .iter()
        .map(|k| (k.kid.as_deref(), k.key.expose().as_slice()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (None, b"plainsecret".as_slice()),
            (Some("kid1"), b"secret1".as_slice()),
            (Some("kid2"), b"secret2".as_slice()),
            (Some("kid3"), [0xff, 0xef].as_slice()),
            (None, [0x00, 0xff, 0x10].as_slice()),
            (Some("kid5"), b"a#b".as_slice()),
            (Some("kid6"), b"secret2".as_slice()),
        ]
    );
    // a later key with the same kid replaces the earlier one
    let (s, _) = apply_all(&[
        ("OIDCOAuthVerifySharedKeys", &["k#one"]),
        ("OIDCOAuthVerifySharedKeys", &["k#two"]),
    ])
    .unwrap();
    assert_eq!(s.oauth_verify_shared_keys.len(), 1);
    assert_eq!(s.oauth_verify_shared_keys[0].key.expose(), b"two");

    const N: &str = "OIDCOAuthVerifySharedKeys";
    assert_eq!(err(N, &[""]), "OIDCOAuthVerifySharedKeys: the key is empty");
    assert_eq!(
        err(N, &["kid#"]),
        "OIDCOAuthVerifySharedKeys: the key in \"kid#...\" is empty"
    );
    assert_eq!(
        err(N, &["b32#kid#abc"]),
        "OIDCOAuthVerifySharedKeys: key encoding: invalid value \"b32\"; must be one of \"b64\", \"b64url\", \"hex\", \"plain\""
    );
    assert_eq!(
        err(N, &["hex#k#abc"]),
        "OIDCOAuthVerifySharedKeys: hex-decoding of the key failed: odd number of digits"
    );
    assert_eq!(
        err(N, &["hex#k#zz"]),
        "OIDCOAuthVerifySharedKeys: hex-decoding of the key failed: not a hex digit"
    );
    assert!(
        err(N, &["b64#k#!!!!"])
            .starts_with("OIDCOAuthVerifySharedKeys: base64-decoding of the key failed: ")
    );
    assert!(
        err(N, &["b64url#k#a+b/"])
            .starts_with("OIDCOAuthVerifySharedKeys: base64url-decoding of the key failed: ")
    );
    // the secret never shows in Debug output or errors
    let s = srv(N, &["kid#topsecretvalue"]);
    assert!(!format!("{s:?}").contains("topsecretvalue"));
    assert!(!err(N, &["hex#k#topsecretvalue"]).contains("topsecretvalue"));
}

fn write_keys(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf, PathBuf) {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};

    let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let rsa_pub = dir.join("rsa.pub.pem");
    std::fs::write(&rsa_pub, rsa.public_key_to_pem().unwrap()).unwrap();

    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "test").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&ec).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.sign(&ec, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    let ec_cert = dir.join("ec.cert.pem");
    std::fs::write(&ec_cert, cert.to_pem().unwrap()).unwrap();

    let ed = PKey::generate_ed25519().unwrap();
    let ed_pub = dir.join("ed25519.pub.pem");
    std::fs::write(&ed_pub, ed.public_key_to_pem().unwrap()).unwrap();

    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let rsa_spki = dir.join("rsa.der");
    std::fs::write(&rsa_spki, rsa.public_key_to_der().unwrap()).unwrap();
    (rsa_pub, ec_cert, ed_pub, garbage, rsa_spki)
}

#[test]
fn cert_files() {
    const N: &str = "OIDCOAuthVerifyCertFiles";
    let tmp = temp_dir("certs");
    let (rsa_pub, ec_cert, ed_pub, garbage, der) = write_keys(&tmp);
    let rsa_arg = format!("rsakid#{}", rsa_pub.display());
    let (s, _) = apply_all(&[(N, &[&rsa_arg]), (N, &[ec_cert.to_str().unwrap()])]).unwrap();
    let keys = &s.oauth_verify_cert_files;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].kid.as_deref(), Some("rsakid"));
    assert_eq!(keys[0].key_type, PublicKeyType::Rsa);
    assert_eq!(keys[0].path, rsa_pub);
    assert!(keys[0].cert_der.is_none());
    assert_eq!(keys[0].spki_der, std::fs::read(&der).unwrap());
    assert_eq!(keys[1].kid, None);
    assert_eq!(keys[1].key_type, PublicKeyType::Ec);
    assert!(keys[1].cert_der.is_some());

    // relative names are taken relative to ServerRoot
    let mut sc = ServerConfig::default();
    let mut dc = DirConfig::default();
    apply_line(
        &mut sc,
        &mut dc,
        "OIDCOAuthVerifyCertFiles k#rsa.pub.pem ec.cert.pem",
        Some(&tmp),
    )
    .unwrap();
    assert_eq!(sc.oauth_verify_cert_files.len(), 2);
    assert_eq!(sc.oauth_verify_cert_files[0].path, tmp.join("rsa.pub.pem"));

    let missing = tmp.join("missing.pem");
    let e = err(N, &[missing.to_str().unwrap()]);
    assert!(
        e.starts_with(&format!("{N}: cannot read \"{}\": ", missing.display())),
        "{e}"
    );
    assert_eq!(
        err(N, &[garbage.to_str().unwrap()]),
        format!(
            "{N}: \"{}\" holds neither a PEM public key nor a PEM X.509 certificate",
            garbage.display()
        )
    );
    assert_eq!(
        err(N, &[der.to_str().unwrap()]),
        format!(
            "{N}: \"{}\" holds neither a PEM public key nor a PEM X.509 certificate",
            der.display()
        )
    );
    assert_eq!(
        err(N, &[ed_pub.to_str().unwrap()]),
        format!(
            "{N}: \"{}\" holds a key of an unsupported type (only RSA and EC keys are supported)",
            ed_pub.display()
        )
    );
    assert_eq!(err(N, &["kid#"]), format!("{N}: no file name in \"kid#\""));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn audience_and_issuer() {
    let (s, _) = apply_all(&[
        ("OIDCOAuthVerifyAudience", &["api1"]),
        ("OIDCOAuthVerifyAudience", &["api2"]),
        ("OIDCOAuthVerifyAudience", &["api1"]),
        ("OIDCOAuthVerifyIssuer", &["https://iam.example.org"]),
    ])
    .unwrap();
    assert_eq!(s.oauth_verify_audience, ["api1", "api2"]);
    assert_eq!(
        s.oauth_verify_issuer.as_deref(),
        Some("https://iam.example.org")
    );
    assert_eq!(
        err("OIDCOAuthVerifyAudience", &[""]),
        "OIDCOAuthVerifyAudience: the value must not be empty"
    );
    assert_eq!(
        err("OIDCOAuthVerifyIssuer", &[""]),
        "OIDCOAuthVerifyIssuer: the value must not be empty"
    );
}

#[test]
fn token_expiry_claim() {
    const N: &str = "OIDCOAuthTokenExpiryClaim";
    assert_eq!(
        *ServerConfig::default().token_expiry_claim(),
        TokenExpiryClaim {
            name: "expires_in".into(),
            format: ExpiryFormat::Relative,
            required: true,
        }
    );
    assert_eq!(
        *srv(N, &["exp"]).token_expiry_claim(),
        TokenExpiryClaim {
            name: "exp".into(),
            format: ExpiryFormat::Relative,
            required: true,
        }
    );
    assert_eq!(
        *srv(N, &["exp", "absolute", "optional"]).token_expiry_claim(),
        TokenExpiryClaim {
            name: "exp".into(),
            format: ExpiryFormat::Absolute,
            required: false,
        }
    );
    assert_eq!(
        err(N, &["exp", "Absolute"]),
        "OIDCOAuthTokenExpiryClaim: invalid value \"Absolute\"; must be one of \"relative\", \"absolute\""
    );
    assert_eq!(
        err(N, &["exp", "absolute", "yes"]),
        "OIDCOAuthTokenExpiryClaim: invalid value \"yes\"; must be one of \"mandatory\", \"optional\""
    );
    assert_eq!(
        err(N, &[""]),
        "OIDCOAuthTokenExpiryClaim: the value must not be empty"
    );
}

#[test]
fn introspection_settings() {
    const A: &str = "OIDCOAuthIntrospectionEndpointAuth";
    for (v, want) in [
        ("client_secret_basic", EndpointAuth::ClientSecretBasic),
        ("client_secret_post", EndpointAuth::ClientSecretPost),
        ("bearer_access_token", EndpointAuth::BearerAccessToken),
        ("none", EndpointAuth::None),
    ] {
        assert_eq!(srv(A, &[v]).introspection_endpoint_auth(), Some(want));
        assert_eq!(want.as_str(), v);
    }
    assert_eq!(ServerConfig::default().introspection_endpoint_auth(), None);
    for v in ["client_secret_jwt", "private_key_jwt"] {
        assert_eq!(
            err(A, &[v]),
            format!(
                "{A}: \"{v}\" is not supported yet by mod_auth_openidc_rs; use one of \"client_secret_basic\", \"client_secret_post\", \"bearer_access_token\", \"none\""
            )
        );
    }
    assert_eq!(
        err(A, &["basic"]),
        format!(
            "{A}: invalid value \"basic\"; must be one of \"client_secret_basic\", \"client_secret_post\", \"client_secret_jwt\", \"private_key_jwt\", \"bearer_access_token\", \"none\""
        )
    );

    const B: &str = "OIDCOAuthIntrospectionClientAuthBearerToken";
    assert_eq!(
        srv(B, &["55554ee-2491"]).introspection_client_auth_bearer_token(),
        Some("55554ee-2491")
    );
    assert_eq!(
        srv(B, &["\"quoted token\""]).introspection_client_auth_bearer_token(),
        Some("quoted token")
    );
    assert_eq!(
        srv(B, &["\"\""]).introspection_client_auth_bearer_token(),
        Some("")
    );
    assert_eq!(
        srv(B, &[""]).introspection_client_auth_bearer_token(),
        Some("")
    );
    assert_eq!(
        srv(B, &["two words"]).introspection_client_auth_bearer_token(),
        Some("")
    );
    assert_eq!(
        ServerConfig::default().introspection_client_auth_bearer_token(),
        None
    );
    assert!(!format!("{:?}", srv(B, &["55554ee-2491"])).contains("55554ee"));

    const M: &str = "OIDCOAuthIntrospectionEndpointMethod";
    assert_eq!(
        ServerConfig::default().introspection_method(),
        HttpMethod::Post
    );
    assert_eq!(srv(M, &["GET"]).introspection_method(), HttpMethod::Get);
    assert_eq!(srv(M, &["POST"]).introspection_method(), HttpMethod::Post);
    assert_eq!(
        err(M, &["get"]),
        "OIDCOAuthIntrospectionEndpointMethod: invalid value \"get\"; must be one of \"GET\", \"POST\""
    );

    let s = srv(
        "OIDCOAuthIntrospectionEndpointParams",
        &["grant_type=urn%3Aping%3Avalidate&x=1"],
    );
    assert_eq!(
        s.oauth_introspection_endpoint_params.as_deref(),
        Some("grant_type=urn%3Aping%3Avalidate&x=1")
    );

    const T: &str = "OIDCOAuthIntrospectionTokenParamName";
    assert_eq!(
        ServerConfig::default().introspection_token_param_name(),
        "token"
    );
    assert_eq!(
        srv(T, &["access_token"]).introspection_token_param_name(),
        "access_token"
    );
    assert_eq!(
        err(T, &[""]),
        "OIDCOAuthIntrospectionTokenParamName: the value must not be empty"
    );

    const I: &str = "OIDCOAuthTokenIntrospectionInterval";
    assert_eq!(DirConfig::default().introspection_interval(), 0);
    assert_eq!(dir(I, &["-1"]).introspection_interval(), -1);
    assert_eq!(dir(I, &["0"]).introspection_interval(), 0);
    assert_eq!(dir(I, &["31536000"]).introspection_interval(), 31536000);
    assert_eq!(
        err(I, &["-2"]),
        "OIDCOAuthTokenIntrospectionInterval: integer value -2 is smaller than the minimum allowed value -1"
    );
    assert_eq!(
        err(I, &["31536001"]),
        "OIDCOAuthTokenIntrospectionInterval: integer value 31536001 is greater than the maximum allowed value 31536000"
    );
    assert_eq!(
        err(I, &["10s"]),
        "OIDCOAuthTokenIntrospectionInterval: invalid integer value \"10s\""
    );
}

#[test]
fn oauth_client_and_tls() {
    let (s, _) = apply_all(&[
        ("OIDCOAuthClientID", &["rs"]),
        ("OIDCOAuthClientSecret", &["rs-secret"]),
        ("OIDCOAuthSSLValidateServer", &["Off"]),
    ])
    .unwrap();
    assert_eq!(s.oauth_client_id.as_deref(), Some("rs"));
    assert_eq!(
        s.oauth_client_secret.as_ref().map(|x| x.expose().as_str()),
        Some("rs-secret")
    );
    assert!(!format!("{s:?}").contains("rs-secret"));
    assert!(!s.oauth_ssl_validate_server());
    assert!(ServerConfig::default().oauth_ssl_validate_server());
    assert!(srv("OIDCOAuthSSLValidateServer", &["yes"]).oauth_ssl_validate_server());
    assert_eq!(
        err("OIDCOAuthSSLValidateServer", &["maybe"]),
        "OIDCOAuthSSLValidateServer: invalid boolean value \"maybe\"; must be On or Off (or true/false, yes/no, 1/0)"
    );
}

#[test]
fn remote_user_claims() {
    const O: &str = "OIDCOAuthRemoteUserClaim";
    let default = ServerConfig::default();
    let c = default.oauth_remote_user_claim();
    assert_eq!(
        (
            c.claim.as_str(),
            c.append_issuer,
            c.regex.is_none(),
            c.replacement.is_none()
        ),
        ("sub", false, true, true)
    );
    let c = default.remote_user_claim();
    assert_eq!((c.claim.as_str(), c.append_issuer), ("sub", true));

    let s = srv(O, &["email", "^(.*)@example\\.com$", "$1"]);
    let c = s.oauth_remote_user_claim();
    assert_eq!(c.claim, "email");
    assert!(!c.append_issuer);
    assert_eq!(
        c.regex.as_ref().map(|r| r.as_str()),
        Some("^(.*)@example\\.com$")
    );
    assert_eq!(c.replacement.as_deref(), Some("$1"));
    // '@' only means "append the issuer" for the RP
    assert_eq!(
        *srv(O, &["sub@"]).oauth_remote_user_claim(),
        RemoteUserClaim {
            claim: "sub@".into(),
            append_issuer: false,
            regex: None,
            replacement: None,
        }
    );

    const R: &str = "OIDCRemoteUserClaim";
    let s = srv(R, &["sub@", "^(.*)$"]);
    let c = s.remote_user_claim();
    assert_eq!((c.claim.as_str(), c.append_issuer), ("sub", true));
    assert!(c.regex.is_some() && c.replacement.is_none());
    assert_eq!(
        err(R, &["@"]),
        "OIDCRemoteUserClaim: the claim name is empty"
    );
    assert_eq!(
        err(O, &[""]),
        "OIDCOAuthRemoteUserClaim: the claim name is empty"
    );
    let e = err(O, &["email", "(unclosed"]);
    assert!(
        e.starts_with("OIDCOAuthRemoteUserClaim: invalid regular expression \"(unclosed\": "),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn accept_token_as() {
    const N: &str = "OIDCOAuthAcceptTokenAs";
    assert_eq!(
        *DirConfig::default().accept_token_as(),
        [TokenSource::Header]
    );
    let (_, d) = apply_all(&[
        (N, &["header"]),
        (N, &["cookie"]),
        (N, &["query"]),
        (N, &["header"]),
    ])
    .unwrap();
    assert_eq!(
        *d.accept_token_as(),
        [
            TokenSource::Header,
            TokenSource::Cookie("PA.global".into()),
            TokenSource::Query
        ]
    );
    let (_, d) = apply_all(&[
        (N, &["cookie:a"]),
        (N, &["post"]),
        (N, &["cookie:b"]),
        (N, &["basic"]),
    ])
    .unwrap();
    assert_eq!(
        *d.accept_token_as(),
        [
            TokenSource::Cookie("b".into()),
            TokenSource::Post,
            TokenSource::Basic
        ]
    );
    // like the C module, an option after another kind is ignored
    assert_eq!(
        *dir(N, &["header:x"]).accept_token_as(),
        [TokenSource::Header]
    );
    assert_eq!(
        err(N, &["Header"]),
        "OIDCOAuthAcceptTokenAs: invalid value \"Header\"; must be one of \"header\", \"post\", \"query\", \"cookie\", \"basic\""
    );
    assert_eq!(
        err(N, &["cookie:"]),
        "OIDCOAuthAcceptTokenAs: invalid cookie name in \"cookie:\""
    );
    assert_eq!(
        err(N, &["cookie:a;b"]),
        "OIDCOAuthAcceptTokenAs: invalid cookie name in \"cookie:a;b\""
    );
    // httpd splits ITERATE arguments and calls once per word
    let mut s = ServerConfig::default();
    let mut d = DirConfig::default();
    apply_line(
        &mut s,
        &mut d,
        "OIDCOAuthAcceptTokenAs header cookie:tok",
        None,
    )
    .unwrap();
    assert_eq!(
        *d.accept_token_as(),
        [TokenSource::Header, TokenSource::Cookie("tok".into())]
    );
}

// ---------------------------------------------------------------------------------------------
// claims

#[test]
fn claim_prefix_and_delimiter() {
    const P: &str = "OIDCClaimPrefix";
    assert_eq!(ServerConfig::default().claim_prefix(), "OIDC_CLAIM_");
    assert_eq!(srv(P, &["\"OIDC-\""]).claim_prefix(), "OIDC-");
    assert_eq!(srv(P, &["X_"]).claim_prefix(), "X_");
    assert_eq!(srv(P, &["'it'"]).claim_prefix(), "it");
    assert_eq!(
        err(P, &["'it''"]),
        "OIDCClaimPrefix: takes one argument (quote a prefix that contains spaces)"
    );
    assert_eq!(srv(P, &["\"\""]).claim_prefix(), "");
    assert_eq!(srv(P, &[""]).claim_prefix(), "");
    assert_eq!(
        err(P, &["a b"]),
        "OIDCClaimPrefix: takes one argument (quote a prefix that contains spaces)"
    );
    let mut s = ServerConfig::default();
    let mut d = DirConfig::default();
    apply_line(&mut s, &mut d, "OIDCClaimPrefix   \"OIDC-\"  ", None).unwrap();
    assert_eq!(s.claim_prefix(), "OIDC-");

    assert_eq!(ServerConfig::default().claim_delimiter(), ",");
    assert_eq!(srv("OIDCClaimDelimiter", &[";"]).claim_delimiter(), ";");
}

#[test]
fn pass_claims_as() {
    const N: &str = "OIDCPassClaimsAs";
    assert_eq!(
        DirConfig::default().pass_claims_as(),
        PassClaimsAs {
            headers: true,
            environment: true,
            encoding: ClaimEncoding::None
        }
    );
    assert_eq!(
        DirConfig::default().pass_claims_as(),
        PassClaimsAs::default()
    );
    for (v, h, e) in [
        ("none", false, false),
        ("headers", true, false),
        ("environment", false, true),
        ("both", true, true),
    ] {
        let p = dir(N, &[v]).pass_claims_as();
        assert_eq!(
            (p.headers, p.environment, p.encoding),
            (h, e, ClaimEncoding::None),
            "{v}"
        );
    }
    assert_eq!(
        dir(N, &["headers", "latin1"]).pass_claims_as().encoding,
        ClaimEncoding::Latin1
    );
    assert_eq!(
        dir(N, &["both", "base64url"]).pass_claims_as().encoding,
        ClaimEncoding::Base64Url
    );
    assert_eq!(
        dir(N, &["both", "none"]).pass_claims_as().encoding,
        ClaimEncoding::None
    );
    assert_eq!(
        err(N, &["foo"]),
        "OIDCPassClaimsAs: invalid value \"foo\"; must be one of \"none\", \"headers\", \"environment\", \"both\""
    );
    assert_eq!(
        err(N, &["both", "utf8"]),
        "OIDCPassClaimsAs: invalid value \"utf8\"; must be one of \"latin1\", \"base64url\", \"none\""
    );
    assert_eq!(
        err(N, &["Both"]),
        "OIDCPassClaimsAs: invalid value \"Both\"; must be one of \"none\", \"headers\", \"environment\", \"both\""
    );
}

#[test]
fn authn_header() {
    const N: &str = "OIDCAuthNHeader";
    assert_eq!(DirConfig::default().authn_header(), None);
    assert_eq!(
        dir(N, &["X-Remote-User"]).authn_header(),
        Some("X-Remote-User")
    );
    assert_eq!(
        err(N, &["X Remote"]),
        "OIDCAuthNHeader: \"X Remote\" is not a valid HTTP header name"
    );
    assert_eq!(
        err(N, &["X:"]),
        "OIDCAuthNHeader: \"X:\" is not a valid HTTP header name"
    );
}

#[test]
fn claim_lists() {
    let (s, _) = apply_all(&[
        ("OIDCWhiteListedClaims", &["sub"]),
        ("OIDCWhiteListedClaims", &["email"]),
        ("OIDCWhiteListedClaims", &["sub"]),
        ("OIDCBlackListedClaims", &["password"]),
    ])
    .unwrap();
    assert_eq!(s.white_listed_claims, ["sub", "email"]);
    assert_eq!(s.black_listed_claims, ["password"]);
    assert_eq!(
        err("OIDCWhiteListedClaims", &[""]),
        "OIDCWhiteListedClaims: the value must not be empty"
    );
    assert_eq!(
        err("OIDCBlackListedClaims", &[""]),
        "OIDCBlackListedClaims: the value must not be empty"
    );
}

// ---------------------------------------------------------------------------------------------
// outgoing HTTP, cache

#[test]
fn timeouts_and_intervals() {
    let d = ServerConfig::default();
    assert_eq!(d.http_timeout_short(), Duration::from_secs(5));
    assert_eq!(d.http_timeout_long(), Duration::from_secs(60));
    assert_eq!(d.jwks_refresh_interval(), Duration::from_secs(3600));
    assert_eq!(
        srv("OIDCHTTPTimeoutShort", &["2"]).http_timeout_short(),
        Duration::from_secs(2)
    );
    assert_eq!(
        srv("OIDCHTTPTimeoutLong", &["3600"]).http_timeout_long(),
        Duration::from_secs(3600)
    );
    assert_eq!(
        err("OIDCHTTPTimeoutShort", &["0"]),
        "OIDCHTTPTimeoutShort: integer value 0 is smaller than the minimum allowed value 1"
    );
    assert_eq!(
        err("OIDCHTTPTimeoutLong", &["3601"]),
        "OIDCHTTPTimeoutLong: integer value 3601 is greater than the maximum allowed value 3600"
    );
    assert_eq!(
        err("OIDCHTTPTimeoutLong", &["ten"]),
        "OIDCHTTPTimeoutLong: invalid integer value \"ten\""
    );

    const J: &str = "OIDCJWKSRefreshInterval";
    assert_eq!(
        srv(J, &["300"]).jwks_refresh_interval(),
        Duration::from_secs(300)
    );
    assert_eq!(
        srv(J, &["31536000"]).jwks_refresh_interval(),
        Duration::from_secs(31536000)
    );
    assert_eq!(
        err(J, &["299"]),
        "OIDCJWKSRefreshInterval: integer value 299 is smaller than the minimum allowed value 300"
    );
    assert_eq!(
        err(J, &["31536001"]),
        "OIDCJWKSRefreshInterval: integer value 31536001 is greater than the maximum allowed value 31536000"
    );
    assert_eq!(
        err(J, &[""]),
        "OIDCJWKSRefreshInterval: invalid integer value \"\""
    );
}

#[test]
fn ssl_and_ca_bundle() {
    assert!(ServerConfig::default().ssl_validate_server());
    assert!(!srv("OIDCSSLValidateServer", &["off"]).ssl_validate_server());
    assert!(srv("OIDCSSLValidateServer", &["1"]).ssl_validate_server());
    assert_eq!(
        err("OIDCSSLValidateServer", &["sometimes"]),
        "OIDCSSLValidateServer: invalid boolean value \"sometimes\"; must be On or Off (or true/false, yes/no, 1/0)"
    );

    const N: &str = "OIDCCABundlePath";
    let tmp = temp_dir("ca");
    let bundle = tmp.join("ca.pem");
    std::fs::write(&bundle, "-----BEGIN CERTIFICATE-----\n").unwrap();
    assert_eq!(
        srv(N, &[bundle.to_str().unwrap()]).ca_bundle_path,
        Some(bundle.clone())
    );
    let mut s = ServerConfig::default();
    let mut d = DirConfig::default();
    apply_line(&mut s, &mut d, "OIDCCABundlePath ca.pem", Some(&tmp)).unwrap();
    assert_eq!(s.ca_bundle_path, Some(bundle.clone()));
    let missing = tmp.join("nope.pem");
    let e = err(N, &[missing.to_str().unwrap()]);
    assert!(
        e.starts_with(&format!(
            "OIDCCABundlePath: cannot read \"{}\": ",
            missing.display()
        )),
        "{e}"
    );
    assert_eq!(
        err(N, &[tmp.to_str().unwrap()]),
        format!("OIDCCABundlePath: \"{}\" is not a file", tmp.display())
    );
    assert_eq!(
        err(N, &[""]),
        "OIDCCABundlePath: the value must not be empty"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn cache_settings() {
    assert_eq!(ServerConfig::default().cache_type(), CacheType::Shm);
    assert_eq!(
        srv("OIDCCacheType", &["shm"]).cache_type,
        Some(CacheType::Shm)
    );
    assert_eq!(
        srv("OIDCCacheType", &["file"]).cache_type(),
        CacheType::File
    );
    assert_eq!(
        srv("OIDCCacheType", &["redis"]).cache_type(),
        CacheType::Redis
    );
    assert_eq!(
        srv("OIDCCacheType", &["memcache"]).cache_type(),
        CacheType::Memcache
    );
    assert_eq!(
        err("OIDCCacheType", &["SHM"]),
        "OIDCCacheType: invalid value \"SHM\"; must be one of \"shm\", \"memcache\", \"redis\", \"file\""
    );
    assert!(!ServerConfig::default().cache_encrypt());
    assert!(srv("OIDCCacheEncrypt", &["On"]).cache_encrypt());
    assert!(!srv("OIDCCacheEncrypt", &["off"]).cache_encrypt());
    // unset, the default follows the cache type (2.4.12.3: shm off, file on)
    assert!(srv("OIDCCacheType", &["file"]).cache_encrypt());
    let (s, _) =
        apply_all(&[("OIDCCacheType", &["file"]), ("OIDCCacheEncrypt", &["Off"])]).unwrap();
    assert!(!s.cache_encrypt());
    assert_eq!(
        err("OIDCCacheEncrypt", &["yes"]),
        "OIDCCacheEncrypt: invalid value \"yes\"; must be On or Off"
    );
}

#[test]
fn redis_settings() {
    let d = ServerConfig::default();
    assert_eq!(d.redis_server(), None);
    assert_eq!(d.redis_username(), None);
    assert!(d.redis_password().is_none());
    assert_eq!(d.redis_database(), None);
    assert_eq!(d.redis_connect_timeout(), Duration::from_secs(5));
    assert_eq!(d.redis_timeout(), Duration::from_secs(5));
    // redis encrypts by default, as in 2.4.12.3
    assert!(srv("OIDCCacheType", &["redis"]).cache_encrypt());

    let server = |v: &str| srv("OIDCRedisCacheServer", &[v]).redis_server;
    let rs = |h: &str, p: u16| {
        Some(RedisServer {
            host: h.to_string(),
            port: p,
        })
    };
    assert_eq!(server("redis.example.com"), rs("redis.example.com", 6379));
    assert_eq!(server("127.0.0.1:6380"), rs("127.0.0.1", 6380));
    assert_eq!(server("[::1]:7000"), rs("::1", 7000));
    assert_eq!(server("[::1]"), rs("::1", 6379));
    assert_eq!(
        err("OIDCRedisCacheServer", &["::1"]),
        "OIDCRedisCacheServer: invalid server \"::1\": put an IPv6 address in brackets, e.g. [::1]:6379"
    );
    assert_eq!(
        err("OIDCRedisCacheServer", &["host:0"]),
        "OIDCRedisCacheServer: invalid port in \"host:0\": integer value 0 is smaller than the minimum allowed value 1"
    );
    assert_eq!(
        err("OIDCRedisCacheServer", &["host:x"]),
        "OIDCRedisCacheServer: invalid port in \"host:x\": invalid integer value \"x\""
    );
    assert_eq!(
        err("OIDCRedisCacheServer", &[":6379"]),
        "OIDCRedisCacheServer: invalid host name in \":6379\""
    );
    assert_eq!(
        err("OIDCRedisCacheServer", &["a b"]),
        "OIDCRedisCacheServer: invalid host name in \"a b\""
    );
    assert_eq!(
        err("OIDCRedisCacheServer", &["rediss://redis.example.com:6380"]),
        "OIDCRedisCacheServer: \"rediss://redis.example.com:6380\": give host[:port]; URLs (such as rediss:// for TLS) are not supported yet"
    );
    assert_eq!(
        err("OIDCRedisCacheServer", &["[::1"]),
        "OIDCRedisCacheServer: invalid server \"[::1\": missing \"]\""
    );
    assert_eq!(
        err("OIDCRedisCacheServer", &[""]),
        "OIDCRedisCacheServer: the value must not be empty"
    );

    assert_eq!(
        srv("OIDCRedisCacheUsername", &["web"]).redis_username(),
        Some("web")
    );
    let s = srv("OIDCRedisCachePassword", &["pw"]);
    assert_eq!(s.redis_password().map(|p| p.expose().as_str()), Some("pw"));
    assert!(!format!("{s:?}").contains("\"pw\""));
    assert_eq!(
        srv("OIDCRedisCacheDatabase", &["3"]).redis_database(),
        Some(3)
    );
    assert_eq!(
        err("OIDCRedisCacheDatabase", &["-1"]),
        "OIDCRedisCacheDatabase: integer value -1 is smaller than the minimum allowed value 0"
    );
    assert_eq!(
        srv("OIDCRedisCacheConnectTimeout", &["2"]).redis_connect_timeout(),
        Duration::from_secs(2)
    );
    assert_eq!(
        srv("OIDCRedisCacheTimeout", &["7"]).redis_timeout(),
        Duration::from_secs(7)
    );
    for n in ["OIDCRedisCacheConnectTimeout", "OIDCRedisCacheTimeout"] {
        assert_eq!(
            err(n, &["0"]),
            format!("{n}: integer value 0 is smaller than the minimum allowed value 1")
        );
    }

    // a virtual host's own settings win; unset ones come from the main server
    let (base, _) = apply_all(&[
        ("OIDCRedisCacheServer", &["a:1"]),
        ("OIDCRedisCachePassword", &["base"]),
        ("OIDCRedisCacheTimeout", &["9"]),
    ])
    .unwrap();
    let (add, _) = apply_all(&[("OIDCRedisCacheServer", &["b:2"])]).unwrap();
    let m = merge_server(&base, &add);
    assert_eq!(m.redis_server(), rs("b", 2).as_ref());
    assert_eq!(
        m.redis_password().map(|p| p.expose().as_str()),
        Some("base")
    );
    assert_eq!(m.redis_timeout(), Duration::from_secs(9));
}

#[test]
fn check_server_redis() {
    let p = problems(&[("OIDCCacheType", &["redis"])]);
    assert!(
        p.contains(&(
            Severity::Error,
            "'OIDCCacheType redis' requires 'OIDCRedisCacheServer' to be set".to_string()
        )),
        "{p:?}"
    );
    let p = problems(&[
        ("OIDCCacheType", &["redis"]),
        ("OIDCRedisCacheServer", &["127.0.0.1"]),
    ]);
    assert!(p.iter().all(|(s, _)| *s != Severity::Error), "{p:?}");
}

#[test]
fn memcache_settings() {
    let d = ServerConfig::default();
    assert!(d.memcache_servers().is_empty());
    assert_eq!(d.memcache_min(), 0);
    assert_eq!(d.memcache_smax(), None);
    assert_eq!(d.memcache_hmax(), None);
    assert_eq!(d.memcache_ttl(), Duration::from_secs(60));
    // memcache encrypts by default, as in 2.4.12.3
    assert!(srv("OIDCCacheType", &["memcache"]).cache_encrypt());

    let ms = |h: &str, p: u16| MemcacheServer {
        host: h.to_string(),
        port: p,
    };
    let servers = |v: &str| srv("OIDCMemCacheServers", &[v]).memcache_servers;
    assert_eq!(
        servers("mc.example.com"),
        Some(vec![ms("mc.example.com", 11211)])
    );
    assert_eq!(
        servers(" 127.0.0.1:11212   [::1]  mc:1 "),
        Some(vec![ms("127.0.0.1", 11212), ms("::1", 11211), ms("mc", 1)])
    );
    assert_eq!(
        err("OIDCMemCacheServers", &["a b:x"]),
        "OIDCMemCacheServers: invalid port in \"b:x\": invalid integer value \"x\""
    );
    assert_eq!(
        err("OIDCMemCacheServers", &["a ::1"]),
        "OIDCMemCacheServers: invalid server \"::1\": put an IPv6 address in brackets, e.g. [::1]:11211"
    );
    assert!(err("OIDCMemCacheServers", &[""]).starts_with("OIDCMemCacheServers"));
    assert_eq!(
        err("OIDCMemCacheServers", &["   "]),
        "OIDCMemCacheServers: no server given"
    );

    let c = srv("OIDCMemCacheConnectionsHMax", &["4"]);
    assert_eq!(c.memcache_hmax(), Some(4));
    assert_eq!(c.memcache_smax(), Some(4));
    let (c, _) = apply_all(&[
        ("OIDCMemCacheConnectionsHMax", &["4"]),
        ("OIDCMemCacheConnectionsSMax", &["9"]),
        ("OIDCMemCacheConnectionsMin", &["2"]),
        ("OIDCMemCacheConnectionsTTL", &["0"]),
    ])
    .unwrap();
    assert_eq!(
        c.memcache_smax(),
        Some(4),
        "SMax is capped by HMax as in the C module"
    );
    assert_eq!(c.memcache_min(), 2);
    assert_eq!(c.memcache_ttl(), Duration::from_secs(60));
    assert_eq!(
        srv("OIDCMemCacheConnectionsTTL", &["5"]).memcache_ttl(),
        Duration::from_secs(5)
    );
    assert_eq!(
        srv("OIDCMemCacheConnectionsHMax", &["0"]).memcache_hmax(),
        None
    );
    for n in [
        "OIDCMemCacheConnectionsMin",
        "OIDCMemCacheConnectionsSMax",
        "OIDCMemCacheConnectionsHMax",
    ] {
        assert_eq!(
            err(n, &["-1"]),
            format!("{n}: integer value -1 is smaller than the minimum allowed value 0")
        );
    }
    assert_eq!(
        err("OIDCMemCacheConnectionsTTL", &["86401"]),
        "OIDCMemCacheConnectionsTTL: integer value 86401 is greater than the maximum allowed value 86400"
    );

    let (base, _) = apply_all(&[
        ("OIDCMemCacheServers", &["a b"]),
        ("OIDCMemCacheConnectionsTTL", &["7"]),
    ])
    .unwrap();
    let (add, _) = apply_all(&[("OIDCMemCacheServers", &["c:2"])]).unwrap();
    let m = merge_server(&base, &add);
    assert_eq!(m.memcache_servers(), &[ms("c", 2)]);
    assert_eq!(m.memcache_ttl(), Duration::from_secs(7));
}

#[test]
fn check_server_memcache() {
    let p = problems(&[("OIDCCacheType", &["memcache"])]);
    assert!(
        p.contains(&(
            Severity::Error,
            "'OIDCCacheType memcache' requires 'OIDCMemCacheServers' to be set".to_string()
        )),
        "{p:?}"
    );
    let p = problems(&[
        ("OIDCCacheType", &["memcache"]),
        ("OIDCMemCacheServers", &["127.0.0.1"]),
    ]);
    assert!(p.iter().all(|(s, _)| *s != Severity::Error), "{p:?}");
}

// ---------------------------------------------------------------------------------------------
// relying party directives (accepted now, used later)

#[test]
fn response_type() {
    const N: &str = "OIDCResponseType";
    assert_eq!(srv(N, &["code"]).response_type, Some(ResponseType::Code));
    assert_eq!(srv(N, &[" code "]).response_type, Some(ResponseType::Code));
    for v in [
        "id_token",
        "id_token token",
        "token id_token",
        "code id_token token",
    ] {
        assert_eq!(
            err(N, &[v]),
            format!(
                "OIDCResponseType: \"{v}\" is not supported yet by mod_auth_openidc_rs; only \"code\" is"
            )
        );
    }
    assert_eq!(
        err(N, &["token"]),
        "OIDCResponseType: invalid value \"token\"; must be one of \"code\", \"id_token\", \"id_token token\", \"code id_token\", \"code token\", \"code id_token token\""
    );
}

#[test]
fn scope_client_and_metadata() {
    assert_eq!(ServerConfig::default().scope(), "openid");
    assert_eq!(srv("OIDCScope", &["openid email"]).scope(), "openid email");
    assert_eq!(
        srv("OIDCClientID", &["c1"]).client_id.as_deref(),
        Some("c1")
    );
    let s = srv("OIDCClientSecret", &["s3cr3t"]);
    assert_eq!(
        s.client_secret.as_ref().map(|x| x.expose().as_str()),
        Some("s3cr3t")
    );
    assert!(!format!("{s:?}").contains("s3cr3t"));

    const M: &str = "OIDCProviderMetadataURL";
    assert!(
        srv(
            M,
            &["https://idp.example.com/.well-known/openid-configuration"]
        )
        .provider_metadata_url
        .is_some()
    );
    // plain http is accepted (the C module only warns, see check_server)
    assert!(
        srv(
            M,
            &["http://idp.example.com/.well-known/openid-configuration"]
        )
        .provider_metadata_url
        .is_some()
    );
    assert_eq!(
        err(M, &["idp.example.com"]),
        "OIDCProviderMetadataURL: \"idp.example.com\" cannot be parsed as a URL (no scheme set)"
    );

    const A: &str = "OIDCProviderTokenEndpointAuth";
    assert_eq!(
        srv(A, &["client_secret_post"]).provider_token_endpoint_auth,
        Some(EndpointAuth::ClientSecretPost)
    );
    assert_eq!(
        srv(A, &["client_secret_jwt"]).provider_token_endpoint_auth,
        Some(EndpointAuth::ClientSecretJwt)
    );
    assert_eq!(
        srv(A, &["none"]).provider_token_endpoint_auth,
        Some(EndpointAuth::None)
    );
    // accepted in any order; check_server requires OIDCPrivateKeyFiles
    assert_eq!(
        srv(A, &["private_key_jwt"]).provider_token_endpoint_auth,
        Some(EndpointAuth::PrivateKeyJwt)
    );
    assert!(err(A, &["Client_Secret_Basic"]).starts_with(
        "OIDCProviderTokenEndpointAuth: invalid value \"Client_Secret_Basic\"; must be one of "
    ));
}

#[test]
fn redirect_uri() {
    const N: &str = "OIDCRedirectURI";
    assert_eq!(
        srv(N, &["https://www.example.com/protected/redirect_uri"])
            .redirect_uri
            .as_deref(),
        Some("https://www.example.com/protected/redirect_uri")
    );
    assert_eq!(
        srv(N, &["/protected/redirect_uri"]).redirect_uri.as_deref(),
        Some("/protected/redirect_uri")
    );
    assert_eq!(
        srv(N, &["http://localhost/cb"]).redirect_uri.as_deref(),
        Some("http://localhost/cb")
    );
    assert_eq!(
        err(N, &["protected/redirect_uri"]),
        "OIDCRedirectURI: \"protected/redirect_uri\" cannot be parsed as a URL (no scheme set)"
    );
    assert_eq!(
        err(N, &["https:///cb"]),
        "OIDCRedirectURI: \"https:///cb\" has no host name (check your slashes)"
    );
    assert_eq!(
        err(N, &["/a b"]),
        "OIDCRedirectURI: \"/a b\" contains a forbidden character (' ')"
    );
}

#[test]
fn session_max_duration_and_cookie_same_site() {
    const N: &str = "OIDCSessionMaxDuration";
    assert_eq!(ServerConfig::default().session_max_duration(), 28800);
    assert_eq!(srv(N, &["0"]).session_max_duration(), 0);
    assert_eq!(srv(N, &["15"]).session_max_duration(), 15);
    assert_eq!(srv(N, &["31536000"]).session_max_duration(), 31536000);
    assert_eq!(
        err(N, &["14"]),
        "OIDCSessionMaxDuration: integer value 14 is smaller than the minimum allowed value 15 (or 0: until the ID token expires)"
    );
    assert_eq!(
        err(N, &["31536001"]),
        "OIDCSessionMaxDuration: integer value 31536001 is greater than the maximum allowed value 31536000 (or 0: until the ID token expires)"
    );
    assert_eq!(
        err(N, &["-1"]),
        "OIDCSessionMaxDuration: integer value -1 is smaller than the minimum allowed value 15 (or 0: until the ID token expires)"
    );
    assert_eq!(
        err(N, &["8h"]),
        "OIDCSessionMaxDuration: invalid integer value \"8h\""
    );

    assert!(!ServerConfig::default().cookie_same_site());
    assert!(srv("OIDCCookieSameSite", &["On"]).cookie_same_site());
    assert!(!srv("OIDCCookieSameSite", &["Off"]).cookie_same_site());
    assert_eq!(
        err("OIDCCookieSameSite", &["Lax"]),
        "OIDCCookieSameSite: invalid value \"Lax\"; must be On or Off"
    );
}

#[test]
fn x_forwarded_headers() {
    const N: &str = "OIDCXForwardedHeaders";
    assert_eq!(
        ServerConfig::default().x_forwarded_headers(),
        XForwardedHeaders::default()
    );
    let (s, _) = apply_all(&[(N, &["X-Forwarded-Port"]), (N, &["Forwarded"])]).unwrap();
    assert_eq!(
        s.x_forwarded_headers(),
        XForwardedHeaders {
            port: true,
            forwarded: true,
            ..Default::default()
        }
    );
    assert_eq!(
        err(N, &["x-forwarded-proto"]),
        "OIDCXForwardedHeaders: invalid value \"x-forwarded-proto\"; must be one of \"X-Forwarded-Host\", \"X-Forwarded-Port\", \"X-Forwarded-Proto\", \"Forwarded\""
    );
}

#[test]
fn crypto_passphrase() {
    const N: &str = "OIDCCryptoPassphrase";
    let s = srv(N, &["plain passphrase"]);
    assert_eq!(
        s.crypto_passphrase.as_ref().map(|p| p.expose().as_str()),
        Some("plain passphrase")
    );
    assert!(!format!("{s:?}").contains("plain passphrase"));
    // "exec:" alone is a literal passphrase, as in the C module
    assert_eq!(
        srv(N, &["exec:"])
            .crypto_passphrase
            .as_ref()
            .map(|p| p.expose().as_str()),
        Some("exec:")
    );
    assert_eq!(
        err(N, &[""]),
        "OIDCCryptoPassphrase: the passphrase must not be empty"
    );

    let s = srv(N, &["exec:/bin/echo generated-secret"]);
    assert_eq!(
        s.crypto_passphrase.as_ref().map(|p| p.expose().as_str()),
        Some("generated-secret")
    );
    let s = srv(N, &["exec:/bin/sh -c \"printf 'first\\nsecond'\""]);
    assert_eq!(
        s.crypto_passphrase.as_ref().map(|p| p.expose().as_str()),
        Some("first")
    );
    let s = srv(N, &["exec:/bin/sh -c \"printf 'no newline'\""]);
    assert_eq!(
        s.crypto_passphrase.as_ref().map(|p| p.expose().as_str()),
        Some("no newline")
    );
    // relative to ServerRoot
    let mut sc = ServerConfig::default();
    let mut dc = DirConfig::default();
    apply_line(
        &mut sc,
        &mut dc,
        "OIDCCryptoPassphrase \"exec:echo rel\"",
        Some(Path::new("/bin")),
    )
    .unwrap();
    assert_eq!(
        sc.crypto_passphrase.as_ref().map(|p| p.expose().as_str()),
        Some("rel")
    );

    assert_eq!(
        err(N, &["exec:/bin/true"]),
        "OIDCCryptoPassphrase: the output of the crypto passphrase generation command is empty (perhaps you need to pass it to bash -c \"<cmd>\"?)"
    );
    let e = err(N, &["exec:/nonexistent/program"]);
    assert!(
        e.starts_with(
            "OIDCCryptoPassphrase: Unable to get passphrase from exec of /nonexistent/program: "
        ),
        "{e}"
    );
    assert_eq!(
        err(N, &["exec: "]),
        "OIDCCryptoPassphrase: Unable to parse exec arguments from  "
    );
}

#[test]
fn exec_that_hangs_is_killed() {
    let start = std::time::Instant::now();
    let e =
        setters::test_support::exec("/bin/sleep 30", None, Duration::from_millis(300)).unwrap_err();
    assert!(e.contains("no output within"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // answers, then lingers: the line is taken and the program killed
    let start = std::time::Instant::now();
    let line = setters::test_support::exec(
        "/bin/sh -c \"echo quick; sleep 30\"",
        None,
        Duration::from_millis(300),
    )
    .unwrap();
    assert_eq!(line, "quick");
    assert!(start.elapsed() < Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------------
// merge

#[test]
fn server_merge_vhost_overrides_and_unset_falls_back() {
    let (base, _) = apply_all(&[
        ("OIDCClaimPrefix", &["BASE_"]),
        ("OIDCOAuthVerifyJwksUri", &["https://base.example.com/jwks"]),
        ("OIDCOAuthVerifyAudience", &["a1"]),
        ("OIDCHTTPTimeoutLong", &["30"]),
        ("OIDCSSLValidateServer", &["Off"]),
    ])
    .unwrap();
    let (add, _) = apply_all(&[
        ("OIDCClaimPrefix", &["VHOST_"]),
        ("OIDCOAuthVerifyAudience", &["v1"]),
        ("OIDCOAuthVerifyAudience", &["v2"]),
        // explicitly the default value: still wins over the base (the C module let the base win)
        ("OIDCSSLValidateServer", &["On"]),
    ])
    .unwrap();
    let m = merge_server(&base, &add);
    assert_eq!(m.claim_prefix(), "VHOST_");
    assert_eq!(
        m.oauth_verify_jwks_uri.as_deref(),
        Some("https://base.example.com/jwks")
    );
    assert_eq!(m.oauth_verify_audience, ["v1", "v2"]);
    assert_eq!(m.http_timeout_long(), Duration::from_secs(30));
    assert!(m.ssl_validate_server());
    // inputs unchanged
    assert_eq!(base.claim_prefix(), "BASE_");
    assert_eq!(add.oauth_verify_jwks_uri, None);
    // identities
    assert_eq!(merge_server(&ServerConfig::default(), &add), add);
    assert_eq!(merge_server(&base, &ServerConfig::default()), base);
    // a list directive replaces, it does not append
    let m = merge_server(&add, &base);
    assert_eq!(m.oauth_verify_audience, ["a1"]);
}

#[test]
fn dir_merge_location_overrides_and_unset_falls_back() {
    let (_, server_dir) = apply_all(&[
        ("OIDCPassClaimsAs", &["both", "latin1"]),
        ("OIDCOAuthAcceptTokenAs", &["header"]),
        ("OIDCOAuthAcceptTokenAs", &["query"]),
        ("OIDCOAuthTokenIntrospectionInterval", &["60"]),
    ])
    .unwrap();
    let (_, location) = apply_all(&[
        ("OIDCPassClaimsAs", &["headers"]),
        ("OIDCOAuthAcceptTokenAs", &["cookie:at"]),
        ("OIDCAuthNHeader", &["X-User"]),
    ])
    .unwrap();
    let m = merge_dir(&server_dir, &location);
    // the target comes from the location, the encoding (not given there) from the server
    assert_eq!(
        m.pass_claims_as(),
        PassClaimsAs {
            headers: true,
            environment: false,
            encoding: ClaimEncoding::Latin1
        }
    );
    assert_eq!(*m.accept_token_as(), [TokenSource::Cookie("at".into())]);
    assert_eq!(m.introspection_interval(), 60);
    assert_eq!(m.authn_header(), Some("X-User"));
    // nested sections: a deeper section without settings inherits everything
    let deeper = merge_dir(&m, &DirConfig::default());
    assert_eq!(deeper, m);
    assert_eq!(
        merge_dir(&DirConfig::default(), &DirConfig::default()),
        DirConfig::default()
    );
    // -1 in a location overrides the server's value
    let (_, no_cache) = apply_all(&[("OIDCOAuthTokenIntrospectionInterval", &["-1"])]).unwrap();
    assert_eq!(
        merge_dir(&server_dir, &no_cache).introspection_interval(),
        -1
    );
}

// ---------------------------------------------------------------------------------------------
// post-configuration checks

fn problems(lines: &[(&str, &[&str])]) -> Vec<(Severity, String)> {
    let (s, _) = apply_all(lines).unwrap();
    check_server(&s)
        .into_iter()
        .map(|p| (p.severity, p.message))
        .collect()
}

#[test]
fn check_server_rp() {
    assert!(problems(&[]).is_empty());
    let p = problems(&[(
        "OIDCProviderMetadataURL",
        &["http://idp.example.com/.well-known/openid-configuration"],
    )]);
    assert_eq!(p, vec![
        (Severity::Error, "mandatory parameter 'OIDCRedirectURI' is not set".to_string()),
        (Severity::Error, "mandatory parameter 'OIDCCryptoPassphrase' is not set".to_string()),
        (Severity::Error, "mandatory parameter 'OIDCClientID' is not set".to_string()),
        (Severity::Warning, "the URL scheme of the configured OIDCProviderMetadataURL (http://idp.example.com/.well-known/openid-configuration) SHOULD be \"https\" for security reasons!".to_string()),
    ]);
    let p = problems(&[
        (
            "OIDCProviderMetadataURL",
            &["https://idp.example.com/.well-known/openid-configuration"],
        ),
        ("OIDCRedirectURI", &["http://www.example.com/cb"]),
        ("OIDCCryptoPassphrase", &["x"]),
        ("OIDCClientID", &["c"]),
    ]);
    assert_eq!(p, vec![(Severity::Warning, "the URL scheme of the configured OIDCRedirectURI (http://www.example.com/cb) SHOULD be \"https\" for security reasons (moreover: some Providers may reject non-HTTPS URLs)".to_string())]);
    let p = problems(&[
        (
            "OIDCProviderMetadataURL",
            &["https://idp.example.com/.well-known/openid-configuration"],
        ),
        ("OIDCRedirectURI", &["/protected/redirect_uri"]),
        ("OIDCCryptoPassphrase", &["x"]),
        ("OIDCClientID", &["c"]),
    ]);
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn check_server_oauth() {
    let none_set = "one of 'OIDCOAuthServerMetadataURL', 'OIDCOAuthIntrospectionEndpoint', 'OIDCOAuthVerifyJwksUri', 'OIDCOAuthVerifySharedKeys' or 'OIDCOAuthVerifyCertFiles' must be set";
    assert_eq!(
        problems(&[("OIDCOAuthClientID", &["rs"])]),
        vec![(Severity::Error, none_set.to_string())]
    );
    let both = problems(&[
        (
            "OIDCOAuthIntrospectionEndpoint",
            &["https://as.example.com/introspect"],
        ),
        ("OIDCOAuthVerifySharedKeys", &["k#secret"]),
        ("OIDCOAuthVerifyAudience", &["api"]),
    ]);
    assert_eq!(both, vec![(Severity::Error, "only 'OIDCOAuthIntrospectionEndpoint' OR one (or more) out of ('OIDCOAuthVerifyJwksUri', 'OIDCOAuthVerifySharedKeys' or 'OIDCOAuthVerifyCertFiles') must be set".to_string())]);
    let no_aud = problems(&[("OIDCOAuthVerifyJwksUri", &["https://as.example.com/jwks"])]);
    assert_eq!(no_aud.len(), 1);
    assert_eq!(no_aud[0].0, Severity::Warning);
    assert!(
        no_aud[0]
            .1
            .starts_with("OIDCOAuthVerifyAudience is not set")
    );
    assert!(
        problems(&[
            ("OIDCOAuthVerifyJwksUri", &["https://as.example.com/jwks"]),
            ("OIDCOAuthVerifyAudience", &["api"])
        ])
        .is_empty()
    );
    assert!(
        problems(&[(
            "OIDCOAuthIntrospectionEndpoint",
            &["https://as.example.com/i"]
        )])
        .is_empty()
    );
    assert_eq!(
        problems(&[
            (
                "OIDCOAuthIntrospectionEndpoint",
                &["https://as.example.com/i"]
            ),
            ("OIDCCacheEncrypt", &["On"])
        ]),
        vec![(
            Severity::Error,
            "mandatory parameter 'OIDCCryptoPassphrase' is not set (OIDCCacheEncrypt is On)"
                .to_string()
        )]
    );
    // metadata alone is enough
    assert!(
        problems(&[(
            "OIDCOAuthServerMetadataURL",
            &["https://as.example.com/.well-known/oauth-authorization-server"]
        )])
        .is_empty()
    );
    // an empty prefix without a whitelist
    let p = problems(&[("OIDCClaimPrefix", &["\"\""])]);
    assert_eq!(p, vec![(Severity::Warning, "both OIDCClaimPrefix and OIDCWhiteListedClaims are empty: this renders an insecure setup!".to_string())]);
    assert!(
        problems(&[
            ("OIDCClaimPrefix", &["\"\""]),
            ("OIDCWhiteListedClaims", &["sub"])
        ])
        .is_empty()
    );
}

#[test]
fn verification_helpers() {
    let d = ServerConfig::default();
    assert!(!d.has_oauth_verification() && !d.has_oauth_config() && !d.has_rp_config());
    assert!(srv("OIDCOAuthVerifyJwksUri", &["https://a.example/j"]).has_oauth_verification());
    assert!(srv("OIDCOAuthVerifySharedKeys", &["k"]).has_local_jwt_verification());
    assert!(
        srv("OIDCOAuthIntrospectionEndpoint", &["https://a.example/i"]).has_oauth_verification()
    );
    assert!(
        !srv("OIDCOAuthIntrospectionEndpoint", &["https://a.example/i"])
            .has_local_jwt_verification()
    );
    assert!(srv("OIDCOAuthServerMetadataURL", &["https://a.example/m"]).has_oauth_verification());
    let c = srv("OIDCOAuthClientID", &["x"]);
    assert!(c.has_oauth_config() && !c.has_oauth_verification());
    assert!(srv("OIDCProviderMetadataURL", &["https://a.example/m"]).has_rp_config());
}

#[test]
fn secret_debug_is_redacted() {
    let s = Secret::new("hunter2".to_string());
    assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    assert_eq!(s.expose(), "hunter2");
    let k = Secret::new(vec![1u8, 2, 3]);
    assert_eq!(format!("{k:?}"), "Secret(<redacted>)");
}

#[test]
fn strip_cookies_and_pass_access_token() {
    let mut dc = DirConfig::default();
    assert!(dc.pass_access_token());
    assert!(dc.strip_cookies().is_empty());
    for w in ["a", "b", "a"] {
        find("OIDCStripCookies")
            .unwrap()
            .1
            .apply_to(&mut ServerConfig::default(), &mut dc, &Args::new(&[w]))
            .unwrap();
    }
    assert_eq!(dc.strip_cookies(), ["a".to_string(), "b".to_string()]);
    let e = find("OIDCStripCookies")
        .unwrap()
        .1
        .apply_to(&mut ServerConfig::default(), &mut dc, &Args::new(&["a;b"]))
        .unwrap_err();
    assert!(e.starts_with("OIDCStripCookies: "), "{e}");
    find("OIDCPassAccessToken")
        .unwrap()
        .1
        .apply_to(&mut ServerConfig::default(), &mut dc, &Args::new(&["Off"]))
        .unwrap();
    assert!(!dc.pass_access_token());
    assert!(
        find("OIDCPassAccessToken")
            .unwrap()
            .1
            .apply_to(
                &mut ServerConfig::default(),
                &mut dc,
                &Args::new(&["maybe"])
            )
            .is_err()
    );
    let merged = crate::config::merge_dir(&dc, &DirConfig::default());
    assert!(!merged.pass_access_token(), "unset falls back");
    assert_eq!(merged.strip_cookies().len(), 2);
}

mod rp;
