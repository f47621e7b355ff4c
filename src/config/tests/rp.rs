//! The directives of the browser login (issue 3): values, defaults, merges and the
//! post-configuration checks.

use super::*;
use crate::config::server::cookie_domain_matches;
use crate::config::types::{
    CookieKind, InfoHookData, PassIdTokenAs, PassUserInfoAs, PkceMethod, ResponseMode, SameSite,
    SessionType, UnAuthAction, UnAutzAction, UnAutzKind, UserInfoTokenMethod,
};
use crate::jose::Alg;
use crate::oidc::authorize::StateInputHeaders;

const HTTPS: &str = "https://idp.example.com/x";

// ---------------------------------------------------------------------------------------------
// provider

#[test]
fn provider_endpoints_are_https_or_loopback() {
    type Get = fn(&ServerConfig) -> Option<String>;
    let cases: [(&str, Get); 5] = [
        ("OIDCProviderAuthorizationEndpoint", |s| {
            s.provider_authorization_endpoint.clone()
        }),
        ("OIDCProviderTokenEndpoint", |s| {
            s.provider_token_endpoint.clone()
        }),
        ("OIDCProviderUserInfoEndpoint", |s| {
            s.provider_userinfo_endpoint.clone()
        }),
        ("OIDCProviderJwksUri", |s| s.provider_jwks_uri.clone()),
        ("OIDCProviderEndSessionEndpoint", |s| {
            s.provider_end_session_endpoint.clone()
        }),
    ];
    for (name, get) in cases {
        assert_eq!(get(&ServerConfig::default()), None, "{name}");
        assert_eq!(get(&srv(name, &[HTTPS])).as_deref(), Some(HTTPS), "{name}");
        let local = "http://127.0.0.1:3000/x";
        assert_eq!(get(&srv(name, &[local])).as_deref(), Some(local), "{name}");
        assert_eq!(
            err(name, &["http://idp.example.com/x"]),
            format!(
                "{name}: \"http://idp.example.com/x\" must be an https URL (plain http is allowed only to loopback hosts: 127.0.0.0/8, ::1, localhost)"
            )
        );
        assert!(err(name, &["idp.example.com/x"]).starts_with(&format!("{name}: ")));
    }
}

#[test]
fn provider_issuer() {
    const N: &str = "OIDCProviderIssuer";
    assert_eq!(
        srv(N, &["https://idp.example.com"])
            .provider_issuer
            .as_deref(),
        Some("https://idp.example.com")
    );
    assert_eq!(
        err(N, &[""]),
        "OIDCProviderIssuer: the value must not be empty"
    );
    assert!(err(N, &["https://a b"]).contains("forbidden character"));
}

#[test]
fn form_encoded_parameters() {
    for (name, get) in [
        (
            "OIDCProviderTokenEndpointParams",
            (|s: &ServerConfig| s.provider_token_endpoint_params.clone())
                as fn(&ServerConfig) -> Option<String>,
        ),
        ("OIDCAuthRequestParams", |s| s.auth_request_params.clone()),
    ] {
        for ok in ["a=b&c=d", "prompt=login", "a=b&&c", "x=%20y&z=#", "flag"] {
            assert_eq!(get(&srv(name, &[ok])).as_deref(), Some(ok), "{name} {ok}");
        }
        assert_eq!(
            err(name, &["a=b&=c"]),
            format!(
                "{name}: \"=c\" in \"a=b&=c\" has no parameter name; use <name>=<value>[&<name>=<value>]*"
            )
        );
        assert!(
            err(name, &["a=b c"]).contains("must be form-encoded"),
            "{name}"
        );
    }
    const P: &str = "OIDCPathAuthRequestParams";
    assert_eq!(DirConfig::default().path_auth_request_params(), None);
    assert_eq!(
        dir(P, &["display=popup"]).path_auth_request_params(),
        Some("display=popup")
    );
    assert!(err(P, &["=x"]).starts_with("OIDCPathAuthRequestParams: "));
    assert_eq!(
        err(P, &["acr_values=%{HTTP_HOST}"]),
        "OIDCPathAuthRequestParams: expressions (\"%{...}\" in \"acr_values=%{HTTP_HOST}\") are not supported yet by mod_auth_openidc_rs"
    );
}

#[test]
fn metadata_refresh_method_and_issuer_validation() {
    const R: &str = "OIDCProviderMetadataRefreshInterval";
    let d = ServerConfig::default();
    assert_eq!(d.provider_metadata_refresh_interval(), 0);
    let s = srv(R, &["3600"]);
    assert_eq!(s.provider_metadata_refresh_interval(), 3600);
    assert_eq!(srv(R, &["0"]).provider_metadata_refresh_interval, Some(0));
    assert!(err(R, &["-1"]).contains("smaller than the minimum allowed value 0"));
    assert!(err(R, &["x"]).starts_with("OIDCProviderMetadataRefreshInterval: invalid integer"));

    const M: &str = "OIDCProviderAuthRequestMethod";
    assert_eq!(d.provider_auth_request_method(), HttpMethod::Get);
    assert_eq!(
        srv(M, &["POST"]).provider_auth_request_method(),
        HttpMethod::Post
    );
    assert_eq!(
        err(M, &["post"]),
        "OIDCProviderAuthRequestMethod: invalid value \"post\"; must be one of \"GET\", \"POST\""
    );

    // only On, what we do: Off is refused rather than accepted and ignored
    const V: &str = "OIDCValidateIssuer";
    assert_eq!(srv(V, &["On"]), d);
    assert_eq!(srv(V, &["true"]), d);
    for off in ["Off", "off", "false"] {
        assert_eq!(
            err(V, &[off]),
            "OIDCValidateIssuer Off is not supported yet by mod_auth_openidc_rs"
        );
    }
    assert!(err(V, &["maybe"]).starts_with("OIDCValidateIssuer: invalid boolean"));
}

// ---------------------------------------------------------------------------------------------
// client keys and ID token settings

fn write_private_keys(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf, PathBuf) {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::symm::Cipher;

    let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let rsa_path = dir.join("rsa.key");
    std::fs::write(&rsa_path, rsa.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let ec_path = dir.join("ec.key");
    std::fs::write(&ec_path, ec.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let small = Rsa::generate(1024).unwrap();
    let small_path = dir.join("small.key");
    std::fs::write(&small_path, small.private_key_to_pem().unwrap()).unwrap();
    let enc_path = dir.join("enc.key");
    std::fs::write(
        &enc_path,
        rsa.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"pw")
            .unwrap(),
    )
    .unwrap();
    let ed = PKey::generate_ed25519().unwrap();
    let ed_path = dir.join("ed.key");
    std::fs::write(&ed_path, ed.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (rsa_path, ec_path, small_path, enc_path, ed_path)
}

#[test]
fn private_key_files() {
    const N: &str = "OIDCPrivateKeyFiles";
    let tmp = temp_dir("privkeys");
    let (rsa, ec, small, enc, ed) = write_private_keys(&tmp);
    let rsa_s = rsa.to_str().unwrap();
    let s = srv(N, &[&format!("k1#{rsa_s}")]);
    let [key] = s.private_key_files.as_slice() else {
        panic!("one key expected");
    };
    assert_eq!(key.kid.as_deref(), Some("k1"));
    assert_eq!(key.key_type, PublicKeyType::Rsa);
    assert_eq!(key.path, rsa);
    // the stored material is usable
    let pkey = openssl::pkey::PKey::private_key_from_pkcs8(key.pkcs8_der.expose()).unwrap();
    assert_eq!(pkey.public_key_to_der().unwrap(), key.spki_der);
    assert!(!format!("{s:?}").contains(&format!("{:?}", key.pkcs8_der.expose())));

    let s = srv(N, &[ec.to_str().unwrap()]);
    assert_eq!(s.private_key_files[0].key_type, PublicKeyType::Ec);
    assert_eq!(s.private_key_files[0].kid, None);

    // repeated: the keys accumulate
    let (s, _) = apply_all(&[(N, &[rsa_s]), (N, &[ec.to_str().unwrap()])]).unwrap();
    assert_eq!(s.private_key_files.len(), 2);

    let e = err(N, &[small.to_str().unwrap()]);
    assert!(
        e.contains("has 1024 bits; at least 2048 are required"),
        "{e}"
    );
    let e = err(N, &[enc.to_str().unwrap()]);
    assert!(e.contains("encrypted private key"), "{e}");
    let e = err(N, &[ed.to_str().unwrap()]);
    assert!(e.contains("unsupported type"), "{e}");
    let e = err(N, &["/nonexistent/key.pem"]);
    assert!(
        e.starts_with("OIDCPrivateKeyFiles: cannot read \"/nonexistent/key.pem\""),
        "{e}"
    );
    let garbage = tmp.join("garbage.pem");
    std::fs::write(&garbage, "not a key").unwrap();
    let e = err(N, &[garbage.to_str().unwrap()]);
    assert!(e.ends_with("holds no PEM private key"), "{e}");
    assert_eq!(
        err(N, &["kid#"]),
        "OIDCPrivateKeyFiles: no file name in \"kid#\""
    );
    // relative to ServerRoot
    let mut s = ServerConfig::default();
    let mut d = DirConfig::default();
    find(N)
        .unwrap()
        .1
        .apply_to(
            &mut s,
            &mut d,
            &Args::new(&["rsa.key"]).with_server_root(&tmp),
        )
        .unwrap();
    assert_eq!(s.private_key_files[0].path, rsa);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn provider_cert_files() {
    let tmp = temp_dir("pubkeys");
    let (rsa_pub, ec_cert, ed_pub, garbage, _) = write_keys(&tmp);
    let name = "OIDCProviderVerifyCertFiles";
    let get = |s: ServerConfig| s.provider_verify_cert_files;
    let keys = get(srv(name, &[&format!("a#{}", rsa_pub.display())]));
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid.as_deref(), Some("a"));
    assert_eq!(keys[0].key_type, PublicKeyType::Rsa);
    let keys = get(srv(name, &[ec_cert.to_str().unwrap()]));
    assert_eq!(keys[0].key_type, PublicKeyType::Ec);
    assert!(keys[0].cert_der.is_some());
    assert!(err(name, &[ed_pub.to_str().unwrap()]).contains("unsupported type"));
    assert!(err(name, &[garbage.to_str().unwrap()]).starts_with(&format!("{name}: ")));
    assert!(err(name, &["/nonexistent.pem"]).contains("cannot read"));
    // published at <redirect_uri>?jwks by the C module, which we don't do: refused, even for
    // a readable key file
    assert_eq!(
        err("OIDCPublicKeyFiles", &[rsa_pub.to_str().unwrap()]),
        "OIDCPublicKeyFiles is not supported yet by mod_auth_openidc_rs"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn id_token_settings() {
    const A: &str = "OIDCIDTokenSignedResponseAlg";
    let d = ServerConfig::default();
    assert_eq!(d.id_token_signed_response_alg(), None);
    assert_eq!(
        srv(A, &["RS256"]).id_token_signed_response_alg(),
        Some(Alg::RS256)
    );
    assert_eq!(
        srv(A, &["EdDSA"]).id_token_signed_response_alg(),
        Some(Alg::EdDSA)
    );
    assert_eq!(
        srv(A, &["HS512"]).id_token_signed_response_alg(),
        Some(Alg::HS512)
    );
    for bad in ["none", "rs256", "RS1", ""] {
        assert_eq!(
            err(A, &[bad]),
            format!(
                "OIDCIDTokenSignedResponseAlg: unsupported/invalid signing algorithm \"{bad}\"; must be one of RS256|RS384|RS512|PS256|PS384|PS512|ES256|ES384|ES512|EdDSA|HS256|HS384|HS512"
            )
        );
    }

    const S: &str = "OIDCIDTokenIatSlack";
    assert_eq!(d.id_token_iat_slack(), Duration::from_secs(600));
    assert_eq!(srv(S, &["0"]).id_token_iat_slack(), Duration::ZERO);
    assert_eq!(
        srv(S, &["3600"]).id_token_iat_slack(),
        Duration::from_secs(3600)
    );
    assert_eq!(
        err(S, &["3601"]),
        "OIDCIDTokenIatSlack: integer value 3601 is greater than the maximum allowed value 3600"
    );

    const U: &str = "OIDCUserInfoTokenMethod";
    assert_eq!(d.userinfo_token_method(), UserInfoTokenMethod::AuthzHeader);
    assert_eq!(
        srv(U, &["post_param"]).userinfo_token_method(),
        UserInfoTokenMethod::PostParam
    );
    assert_eq!(
        err(U, &["header"]),
        "OIDCUserInfoTokenMethod: invalid value \"header\"; must be one of \"authz_header\", \"post_param\""
    );
}

// ---------------------------------------------------------------------------------------------
// authentication request and state

#[test]
fn scope_mode_and_pkce() {
    const P: &str = "OIDCPathScope";
    assert_eq!(DirConfig::default().path_scope(), None);
    assert_eq!(
        dir(P, &["email profile"]).path_scope(),
        Some("email profile")
    );
    assert!(err(P, &["%{REMOTE_ADDR}"]).contains("not supported yet"));
    assert!(err(P, &["a\nb"]).contains("forbidden character"));

    const M: &str = "OIDCResponseMode";
    let d = ServerConfig::default();
    assert_eq!(d.response_mode(), None);
    assert_eq!(
        srv(M, &["form_post"]).response_mode(),
        Some(ResponseMode::FormPost)
    );
    assert_eq!(
        srv(M, &["fragment"]).response_mode(),
        Some(ResponseMode::Fragment)
    );
    assert_eq!(ResponseMode::FormPost.as_str(), "form_post");
    assert_eq!(
        err(M, &["form-post"]),
        "OIDCResponseMode: invalid value \"form-post\"; must be one of \"fragment\", \"query\", \"form_post\""
    );

    const K: &str = "OIDCPKCEMethod";
    assert_eq!(d.pkce_method(), PkceMethod::S256, "hardened default");
    assert_eq!(srv(K, &["plain"]).pkce_method(), PkceMethod::Plain);
    assert_eq!(srv(K, &["none"]).pkce_method(), PkceMethod::None);
    assert_eq!(srv(K, &["S256"]).pkce_method(), PkceMethod::S256);
    assert!(err(K, &["referred_tb"]).contains("not supported by mod_auth_openidc_rs"));
    assert!(err(K, &["s256"]).starts_with("OIDCPKCEMethod: invalid value \"s256\""));
}

#[test]
fn state_settings() {
    let d = ServerConfig::default();
    const T: &str = "OIDCStateTimeout";
    assert_eq!(d.state_timeout(), Duration::from_secs(300));
    assert_eq!(srv(T, &["60"]).state_timeout(), Duration::from_secs(60));
    assert!(err(T, &["0"]).contains("smaller than the minimum allowed value 1"));

    const C: &str = "OIDCStateMaxNumberOfCookies";
    assert_eq!(
        (
            d.state_max_number_of_cookies(),
            d.state_delete_oldest_cookies()
        ),
        (7, false)
    );
    let s = srv(C, &["3", "true"]);
    assert_eq!(
        (
            s.state_max_number_of_cookies(),
            s.state_delete_oldest_cookies()
        ),
        (3, true)
    );
    let s = srv(C, &["0"]);
    assert_eq!(
        (
            s.state_max_number_of_cookies(),
            s.state_delete_oldest_cookies
        ),
        (0, None)
    );
    assert!(err(C, &["256"]).contains("greater than the maximum allowed value 255"));
    assert!(err(C, &["5", "sometimes"]).contains("invalid boolean value \"sometimes\""));
    // the two parts merge on their own, as in the C module
    let base = srv(C, &["10", "On"]);
    let add = srv(C, &["4"]);
    let m = merge_server(&base, &add);
    assert_eq!(
        (
            m.state_max_number_of_cookies(),
            m.state_delete_oldest_cookies()
        ),
        (4, true)
    );

    const H: &str = "OIDCStateInputHeaders";
    assert_eq!(d.state_input_headers(), StateInputHeaders::Both);
    assert_eq!(
        srv(H, &["user-agent"]).state_input_headers(),
        StateInputHeaders::UserAgent
    );
    assert_eq!(
        srv(H, &["none"]).state_input_headers(),
        StateInputHeaders::None
    );
    assert_eq!(
        err(H, &["referer"]),
        "OIDCStateInputHeaders: invalid value \"referer\"; must be one of \"both\", \"user-agent\", \"x-forwarded-for\", \"none\""
    );

    const P: &str = "OIDCStateCookiePrefix";
    assert_eq!(
        DirConfig::default().state_cookie_prefix(),
        "mod_auth_openidc_state_"
    );
    assert_eq!(
        DirConfig::default().state_cookie_prefix(),
        crate::oidc::authorize::DEFAULT_STATE_COOKIE_PREFIX
    );
    assert_eq!(dir(P, &["st_"]).state_cookie_prefix(), "st_");
    assert_eq!(
        err(P, &[""]),
        "OIDCStateCookiePrefix: \"\" is not a valid cookie name"
    );
    assert!(err(P, &["a;b"]).contains("not a valid cookie name"));
}

#[test]
fn unauth_and_unautz_actions() {
    const A: &str = "OIDCUnAuthAction";
    let d = DirConfig::default();
    assert_eq!(d.unauth_action(), UnAuthAction::Auth);
    for (v, want) in [
        ("auth", UnAuthAction::Auth),
        ("pass", UnAuthAction::Pass),
        ("401", UnAuthAction::Return401),
        ("407", UnAuthAction::Return407),
        ("410", UnAuthAction::Return410),
    ] {
        assert_eq!(dir(A, &[v]).unauth_action(), want, "{v}");
    }
    assert_eq!(
        err(A, &["403"]),
        "OIDCUnAuthAction: invalid value \"403\"; must be one of \"auth\", \"pass\", \"401\", \"407\", \"410\""
    );
    assert_eq!(
        err(A, &["401", "%{REQUEST_URI} =~ /api/"]),
        "OIDCUnAuthAction: the expression (second) argument is not supported yet by mod_auth_openidc_rs"
    );

    const Z: &str = "OIDCUnAutzAction";
    assert_eq!(
        *d.unautz_action(),
        UnAutzAction {
            kind: UnAutzKind::Return403,
            arg: None
        }
    );
    assert_eq!(dir(Z, &["401"]).unautz_action().kind, UnAutzKind::Return401);
    assert_eq!(dir(Z, &["auth"]).unautz_action().kind, UnAutzKind::Auth);
    let m = dir(Z, &["403", "You are not allowed here"]);
    assert_eq!(
        m.unautz_action().arg.as_deref(),
        Some("You are not allowed here")
    );
    let r = dir(Z, &["302", "https://www.example.com/denied"]);
    assert_eq!(
        *r.unautz_action(),
        UnAutzAction {
            kind: UnAutzKind::Return302,
            arg: Some("https://www.example.com/denied".into())
        }
    );
    assert_eq!(
        dir(Z, &["302", "/denied"]).unautz_action().kind,
        UnAutzKind::Return302
    );
    assert_eq!(
        err(Z, &["302"]),
        "OIDCUnAutzAction: the (2nd) URL argument to OIDCUnAutzAction must be set"
    );
    assert!(err(Z, &["302", "javascript:alert(1)"]).starts_with("OIDCUnAutzAction: "));
    assert!(err(Z, &["302", "//evil.example.com/"]).starts_with("OIDCUnAutzAction: "));
    assert!(err(Z, &["500"]).starts_with("OIDCUnAutzAction: invalid value \"500\""));
}

// ---------------------------------------------------------------------------------------------
// sessions and cookies

#[test]
fn session_settings() {
    const T: &str = "OIDCSessionType";
    let d = ServerConfig::default();
    assert_eq!(d.session_type(), SessionType::SERVER_CACHE);
    let st = |kind, persistent, store_id_token| SessionType {
        kind,
        persistent,
        store_id_token,
    };
    use crate::config::types::SessionKind::{ClientCookie, ServerCache};
    for (v, want) in [
        ("server-cache", st(ServerCache, false, true)),
        ("server-cache:persistent", st(ServerCache, true, true)),
        ("client-cookie", st(ClientCookie, false, false)),
        ("client-cookie:persistent", st(ClientCookie, true, false)),
        (
            "client-cookie:store_id_token",
            st(ClientCookie, false, true),
        ),
        (
            "client-cookie:persistent:store_id_token",
            st(ClientCookie, true, true),
        ),
    ] {
        assert_eq!(srv(T, &[v]).session_type(), want, "{v}");
    }
    assert!(
        err(T, &["client-cookie:store_id_token:persistent"])
            .starts_with("OIDCSessionType: invalid value")
    );

    const F: &str = "OIDCSessionCacheFallbackToCookie";
    assert!(!d.session_cache_fallback_to_cookie());
    assert!(srv(F, &["On"]).session_cache_fallback_to_cookie());
    assert!(!srv(F, &["Off"]).session_cache_fallback_to_cookie());

    const C: &str = "OIDCSessionCookieChunkSize";
    assert_eq!(d.session_cookie_chunk_size(), 4000);
    assert_eq!(srv(C, &["0"]).session_cookie_chunk_size(), 0);
    assert_eq!(srv(C, &["256"]).session_cookie_chunk_size(), 256);
    assert_eq!(srv(C, &["1000"]).session_cookie_chunk_size(), 1000);
    assert!(
        err(C, &["255"]).contains("at least 256"),
        "{}",
        err(C, &["255"])
    );
    assert!(err(C, &["-1"]).starts_with(C));
    assert!(err(C, &["abc"]).starts_with(C));
    assert!(err(T, &["server-cache:store_id_token"]).starts_with("OIDCSessionType: invalid value"));

    const I: &str = "OIDCSessionInactivityTimeout";
    assert_eq!(d.session_inactivity_timeout(), Duration::from_secs(300));
    assert_eq!(
        srv(I, &["3600"]).session_inactivity_timeout(),
        Duration::from_secs(3600)
    );
    assert!(err(I, &["9"]).contains("smaller than the minimum allowed value 10"));
}

#[test]
fn cookie_settings() {
    let d = ServerConfig::default();
    const D: &str = "OIDCCookieDomain";
    assert_eq!(d.cookie_domain(), None);
    assert_eq!(
        srv(D, &[".example.com"]).cookie_domain(),
        Some(".example.com")
    );
    assert_eq!(
        err(D, &["example.com;x"]),
        "OIDCCookieDomain: invalid character ';' in cookie domain value: example.com;x"
    );
    assert_eq!(
        err(D, &[""]),
        "OIDCCookieDomain: the value must not be empty"
    );

    const H: &str = "OIDCCookieHTTPOnly";
    assert!(d.cookie_http_only());
    assert!(!srv(H, &["Off"]).cookie_http_only());
    assert!(err(H, &["no"]).starts_with("OIDCCookieHTTPOnly: invalid value"));

    let dc = DirConfig::default();
    assert_eq!(dc.cookie(), "mod_auth_openidc_session");
    assert_eq!(dc.cookie_path(), "/");
    assert_eq!(dir("OIDCCookie", &["sess"]).cookie(), "sess");
    assert!(err("OIDCCookie", &["a b"]).contains("not a valid cookie name"));
    assert_eq!(dir("OIDCCookiePath", &["/app"]).cookie_path(), "/app");
    assert_eq!(
        err("OIDCCookiePath", &["app"]),
        "OIDCCookiePath: \"app\" must start with \"/\""
    );
    assert!(err("OIDCCookiePath", &["/a;Domain=evil"]).contains("forbidden character"));

    // the C module forwards these browser cookies on back-channel calls, which we don't do
    assert_eq!(
        err("OIDCPassCookies", &["a"]),
        "OIDCPassCookies is not supported yet by mod_auth_openidc_rs"
    );
}

#[test]
fn same_site_per_cookie() {
    let off = ServerConfig::default();
    assert_eq!(
        off.cookie_same_site_for(CookieKind::SessionAfterLogin),
        Some(SameSite::Lax)
    );
    assert_eq!(
        off.cookie_same_site_for(CookieKind::SessionUpdate),
        Some(SameSite::Lax)
    );
    assert_eq!(off.cookie_same_site_for(CookieKind::State), None);
    let explicit_off = srv("OIDCCookieSameSite", &["Off"]);
    assert_eq!(explicit_off.cookie_same_site_for(CookieKind::State), None);
    assert_eq!(
        explicit_off.cookie_same_site_for(CookieKind::SessionUpdate),
        Some(SameSite::Lax)
    );
    let on = srv("OIDCCookieSameSite", &["On"]);
    assert_eq!(
        on.cookie_same_site_for(CookieKind::SessionAfterLogin),
        Some(SameSite::Lax)
    );
    assert_eq!(
        on.cookie_same_site_for(CookieKind::SessionUpdate),
        Some(SameSite::Strict)
    );
    assert_eq!(
        on.cookie_same_site_for(CookieKind::State),
        Some(SameSite::Lax)
    );
    assert_eq!(SameSite::Strict.value(), "Strict");
    assert_eq!(SameSite::None.value(), "None");
}

// ---------------------------------------------------------------------------------------------
// cache

#[test]
fn cache_sizes_and_file_cache() {
    let d = ServerConfig::default();
    assert_eq!(d.cache_shm_max(), 500);
    assert_eq!(d.cache_shm_entry_size_max(), 16913);
    assert_eq!(d.cache_file_clean_interval(), Duration::from_secs(60));
    assert_eq!(d.cache_dir(), std::env::temp_dir());
    assert_eq!(srv("OIDCCacheShmMax", &["2000"]).cache_shm_max(), 2000);
    assert!(err("OIDCCacheShmMax", &["0"]).starts_with("OIDCCacheShmMax: integer value 0"));
    const E: &str = "OIDCCacheShmEntrySizeMax";
    assert_eq!(srv(E, &["8721"]).cache_shm_entry_size_max(), 8721);
    assert_eq!(srv(E, &["524288"]).cache_shm_entry_size_max(), 524288);
    assert!(err(E, &["8720"]).contains("smaller than the minimum allowed value 8721"));
    assert!(err(E, &["524289"]).contains("greater than the maximum allowed value 524288"));
    assert_eq!(
        srv("OIDCCacheFileCleanInterval", &["0"]).cache_file_clean_interval(),
        Duration::ZERO
    );
    assert!(err("OIDCCacheFileCleanInterval", &["-1"]).contains("minimum allowed value 0"));

    let tmp = temp_dir("cachedir");
    let s = srv("OIDCCacheDir", &[tmp.to_str().unwrap()]);
    assert_eq!(s.cache_dir(), tmp);
    let e = err("OIDCCacheDir", &["/nonexistent/cache"]);
    assert!(
        e.starts_with("OIDCCacheDir: cannot access directory \"/nonexistent/cache\""),
        "{e}"
    );
    let file = tmp.join("f");
    std::fs::write(&file, "x").unwrap();
    assert!(err("OIDCCacheDir", &[file.to_str().unwrap()]).starts_with("OIDCCacheDir: "));
    let _ = std::fs::remove_dir_all(&tmp);
}

// ---------------------------------------------------------------------------------------------
// claims passed on

#[test]
fn pass_id_token_and_userinfo_as() {
    let d = ServerConfig::default();
    assert_eq!(
        d.pass_id_token_as(),
        PassIdTokenAs {
            claims: true,
            payload: false,
            serialized: false
        }
    );
    assert_eq!(
        srv("OIDCPassIDTokenAs", &["payload", "serialized"]).pass_id_token_as(),
        PassIdTokenAs {
            claims: false,
            payload: true,
            serialized: true
        }
    );
    assert_eq!(
        srv("OIDCPassIDTokenAs", &["serialized"]).pass_id_token_as(),
        PassIdTokenAs {
            claims: false,
            payload: false,
            serialized: true
        }
    );
    assert_eq!(
        err("OIDCPassIDTokenAs", &["claims", "json"]),
        "OIDCPassIDTokenAs: invalid value \"json\"; must be one of \"claims\", \"payload\", \"serialized\""
    );
    assert_eq!(
        d.pass_userinfo_as(),
        PassUserInfoAs {
            claims: true,
            json: false,
            jwt: false
        }
    );
    assert_eq!(
        srv("OIDCPassUserInfoAs", &["claims", "json", "jwt"]).pass_userinfo_as(),
        PassUserInfoAs {
            claims: true,
            json: true,
            jwt: true
        }
    );
    assert!(
        err("OIDCPassUserInfoAs", &["payload"]).starts_with("OIDCPassUserInfoAs: invalid value")
    );

    let dc = DirConfig::default();
    assert!(!dc.pass_refresh_token());
    assert!(dir("OIDCPassRefreshToken", &["On"]).pass_refresh_token());
    assert!(!dc.preserve_post());
    assert!(dir("OIDCPreservePost", &["On"]).preserve_post());
    assert!(dir("OIDCPreservePost", &["true"]).preserve_post());
    assert!(err("OIDCPreservePost", &["x"]).starts_with("OIDCPreservePost: invalid boolean"));
}

// ---------------------------------------------------------------------------------------------
// logout, redirects, info hook, error template

#[test]
fn urls_redirects_and_logout() {
    let d = ServerConfig::default();
    assert_eq!(d.default_url, None);
    assert_eq!(
        srv("OIDCDefaultURL", &["https://www.example.com/"])
            .default_url
            .as_deref(),
        Some("https://www.example.com/")
    );
    assert_eq!(
        srv("OIDCDefaultLoggedOutURL", &["http://www.example.com/bye"])
            .default_logged_out_url
            .as_deref(),
        Some("http://www.example.com/bye")
    );
    assert!(err("OIDCDefaultLoggedOutURL", &["/bye"]).contains("no scheme"));
    assert!(err("OIDCDefaultURL", &["ftp://x/"]).starts_with("OIDCDefaultURL: "));

    const R: &str = "OIDCRedirectURLsAllowed";
    assert!(d.redirect_urls_allowed().is_empty());
    let (s, _) = apply_all(&[
        (R, &["^https://www\\.example\\.com/"]),
        (R, &["^https://app\\.example\\.com/"]),
        (R, &["^https://www\\.example\\.com/"]),
    ])
    .unwrap();
    let allowed = s.redirect_urls_allowed();
    assert_eq!(allowed.len(), 2);
    assert!(allowed[0].is_match("https://www.example.com/bye"));
    assert!(!allowed[0].is_match("https://evil.example.org/"));
    let e = err(R, &["(unclosed"]);
    assert!(
        e.starts_with("OIDCRedirectURLsAllowed: invalid regular expression \"(unclosed\": "),
        "{e}"
    );
    assert!(!e.contains('\n'));

    const X: &str = "OIDCLogoutXFrameOptions";
    assert_eq!(d.logout_x_frame_options(), "DENY");
    assert_eq!(
        srv(X, &["SAMEORIGIN"]).logout_x_frame_options(),
        "SAMEORIGIN"
    );
    assert!(err(X, &["DENY\r\nX-Evil: 1"]).contains("forbidden character"));

    const H: &str = "OIDCInfoHook";
    assert!(d.info_hook_data().is_empty());
    let (s, _) = apply_all(&[
        (H, &["iat"]),
        (H, &["userinfo"]),
        (H, &["iat"]),
        (H, &["session"]),
    ])
    .unwrap();
    assert_eq!(
        s.info_hook_data(),
        [
            InfoHookData::Iat,
            InfoHookData::Userinfo,
            InfoHookData::Session
        ]
    );
    for (name, item) in InfoHookData::ALL {
        assert_eq!(srv(H, &[name]).info_hook_data(), [*item]);
        assert_eq!(item.as_str(), *name);
    }
    assert!(err(H, &["state"]).starts_with("OIDCInfoHook: invalid value \"state\""));
}

#[test]
fn html_error_template() {
    const N: &str = "OIDCHTMLErrorTemplate";
    let tmp = temp_dir("template");
    let path = tmp.join("error.html");
    std::fs::write(&path, "<p>%s</p><p>%s</p>").unwrap();
    assert_eq!(ServerConfig::default().html_error_template(), None);
    let s = srv(N, &[path.to_str().unwrap()]);
    assert_eq!(s.html_error_template(), Some("<p>%s</p><p>%s</p>"));
    assert!(err(N, &["/nonexistent/error.html"]).starts_with("OIDCHTMLErrorTemplate: cannot read"));
    assert!(err(N, &[tmp.to_str().unwrap()]).ends_with("is not a file"));
    let bin = tmp.join("bin.html");
    std::fs::write(&bin, [0xffu8, 0xfe]).unwrap();
    assert!(err(N, &[bin.to_str().unwrap()]).ends_with("is not valid UTF-8"));
    let _ = std::fs::remove_dir_all(&tmp);
}

// ---------------------------------------------------------------------------------------------
// merges

#[test]
fn server_merge_of_rp_settings() {
    let (base, _) = apply_all(&[
        ("OIDCProviderIssuer", &["https://base.example.com"]),
        ("OIDCPKCEMethod", &["plain"]),
        ("OIDCSessionInactivityTimeout", &["600"]),
        ("OIDCInfoHook", &["iat"]),
        ("OIDCRedirectURLsAllowed", &["^https://base/"]),
        ("OIDCCookieHTTPOnly", &["Off"]),
        ("OIDCCacheType", &["file"]),
    ])
    .unwrap();
    let (add, _) = apply_all(&[
        ("OIDCProviderIssuer", &["https://vhost.example.com"]),
        ("OIDCInfoHook", &["userinfo"]),
        ("OIDCInfoHook", &["session"]),
        ("OIDCCookieHTTPOnly", &["On"]),
    ])
    .unwrap();
    let m = merge_server(&base, &add);
    assert_eq!(
        m.provider_issuer.as_deref(),
        Some("https://vhost.example.com")
    );
    assert_eq!(m.pkce_method(), PkceMethod::Plain);
    assert_eq!(m.session_inactivity_timeout(), Duration::from_secs(600));
    assert_eq!(
        m.info_hook_data(),
        [InfoHookData::Userinfo, InfoHookData::Session]
    );
    assert_eq!(m.redirect_urls_allowed().len(), 1);
    assert!(m.cookie_http_only(), "explicitly set in the vhost");
    assert_eq!(m.cache_type(), CacheType::File);
    assert!(m.cache_encrypt());
    assert_eq!(merge_server(&ServerConfig::default(), &add), add);
    assert_eq!(merge_server(&base, &ServerConfig::default()), base);
}

#[test]
fn dir_merge_of_rp_settings() {
    let (_, server_dir) = apply_all(&[
        ("OIDCUnAuthAction", &["401"]),
        (
            "OIDCUnAutzAction",
            &["302", "https://www.example.com/denied"],
        ),
        ("OIDCCookie", &["server_session"]),
        ("OIDCStripCookies", &["a"]),
        ("OIDCPathScope", &["email"]),
        ("OIDCPreservePost", &["On"]),
    ])
    .unwrap();
    let (_, location) = apply_all(&[
        ("OIDCUnAutzAction", &["403"]),
        ("OIDCCookiePath", &["/app"]),
        ("OIDCStripCookies", &["b"]),
        ("OIDCStateCookiePrefix", &["app_state_"]),
    ])
    .unwrap();
    let m = merge_dir(&server_dir, &location);
    assert_eq!(m.unauth_action(), UnAuthAction::Return401);
    // the action and its argument go together: no URL left over from the 302
    assert_eq!(
        *m.unautz_action(),
        UnAutzAction {
            kind: UnAutzKind::Return403,
            arg: None
        }
    );
    assert_eq!(m.cookie(), "server_session");
    assert_eq!(m.cookie_path(), "/app");
    assert_eq!(m.strip_cookies(), ["b".to_string()]);
    assert_eq!(m.path_scope(), Some("email"));
    assert!(m.preserve_post());
    assert_eq!(m.state_cookie_prefix(), "app_state_");
    assert_eq!(merge_dir(&m, &DirConfig::default()), m);
}

// ---------------------------------------------------------------------------------------------
// post-configuration checks

fn rp_base() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("OIDCRedirectURI", &["https://www.example.com/redirect_uri"]),
        ("OIDCCryptoPassphrase", &["secret"]),
        ("OIDCClientID", &["client"]),
    ]
}

#[test]
fn check_server_requires_a_provider_and_the_client() {
    // any RP directive turns the checks on
    for (name, value) in [
        ("OIDCRedirectURI", "https://www.example.com/redirect_uri"),
        ("OIDCClientID", "c"),
        ("OIDCProviderIssuer", "https://idp.example.com"),
    ] {
        let p = problems(&[(name, &[value])]);
        assert!(
            p.iter().any(|(sev, m)| *sev == Severity::Error
                && m == "mandatory parameter 'OIDCCryptoPassphrase' is not set"),
            "{name}: {p:?}"
        );
    }
    let p = problems(&[("OIDCRedirectURI", &["https://www.example.com/redirect_uri"])]);
    assert_eq!(
        p,
        vec![
            (
                Severity::Error,
                "one of 'OIDCProviderMetadataURL' or 'OIDCProviderIssuer' must be set".to_string()
            ),
            (
                Severity::Error,
                "mandatory parameter 'OIDCCryptoPassphrase' is not set".to_string()
            ),
            (
                Severity::Error,
                "mandatory parameter 'OIDCClientID' is not set".to_string()
            ),
        ]
    );
    // a static provider needs both endpoints
    let mut lines = rp_base();
    lines.push(("OIDCProviderIssuer", &["https://idp.example.com"]));
    assert_eq!(
        problems(&lines),
        vec![
            (
                Severity::Error,
                "mandatory parameter 'OIDCProviderAuthorizationEndpoint' is not set".to_string()
            ),
            (
                Severity::Error,
                "mandatory parameter 'OIDCProviderTokenEndpoint' is not set".to_string()
            ),
        ]
    );
    lines.push((
        "OIDCProviderAuthorizationEndpoint",
        &["https://idp.example.com/authorize"],
    ));
    lines.push((
        "OIDCProviderTokenEndpoint",
        &["https://idp.example.com/token"],
    ));
    assert_eq!(problems(&lines), vec![]);
    let (s, _) = apply_all(&lines).unwrap();
    assert!(s.has_static_provider() && s.has_rp_config());
}

#[test]
fn check_server_client_authentication() {
    let mut lines = rp_base();
    lines.push((
        "OIDCProviderMetadataURL",
        &["https://idp.example.com/.well-known/openid-configuration"],
    ));
    assert!(problems(&lines).is_empty());
    for auth in [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
    ] {
        let mut l = lines.clone();
        let words: &'static [&'static str] = match auth {
            "client_secret_basic" => &["client_secret_basic"],
            "client_secret_post" => &["client_secret_post"],
            _ => &["client_secret_jwt"],
        };
        l.push(("OIDCProviderTokenEndpointAuth", words));
        assert_eq!(
            problems(&l),
            vec![(
                Severity::Error,
                format!(
                    "OIDCProviderTokenEndpointAuth {auth} requires 'OIDCClientSecret' to be set"
                )
            )]
        );
        l.push(("OIDCClientSecret", &["s"]));
        assert!(problems(&l).is_empty(), "{auth}");
    }
    let mut l = lines.clone();
    l.push(("OIDCProviderTokenEndpointAuth", &["private_key_jwt"]));
    assert_eq!(
        problems(&l),
        vec![(
            Severity::Error,
            "OIDCProviderTokenEndpointAuth private_key_jwt requires 'OIDCPrivateKeyFiles' to be set"
                .to_string()
        )]
    );
    let tmp = temp_dir("pkjwt");
    let (rsa, ..) = write_private_keys(&tmp);
    let (mut s, _) = apply_all(&l).unwrap();
    let mut dc = DirConfig::default();
    find("OIDCPrivateKeyFiles")
        .unwrap()
        .1
        .apply_to(&mut s, &mut dc, &Args::new(&[rsa.to_str().unwrap()]))
        .unwrap();
    assert!(check_server(&s).is_empty());
    // none and bearer_access_token need nothing more
    let mut l = lines.clone();
    l.push(("OIDCProviderTokenEndpointAuth", &["none"]));
    assert!(problems(&l).is_empty());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn check_server_cookie_domain() {
    let mut lines = rp_base();
    lines.push((
        "OIDCProviderMetadataURL",
        &["https://idp.example.com/.well-known/openid-configuration"],
    ));
    let mut ok = lines.clone();
    ok.push(("OIDCCookieDomain", &[".example.com"]));
    assert!(problems(&ok).is_empty());
    let mut bad = lines.clone();
    bad.push(("OIDCCookieDomain", &["example.org"]));
    assert_eq!(
        problems(&bad),
        vec![(Severity::Error, "the domain (example.org) configured in OIDCCookieDomain does not match the URL hostname (www.example.com) of the configured OIDCRedirectURI (https://www.example.com/redirect_uri): setting \"state\" and \"session\" cookies will not work!".to_string())]
    );
    let (mut s, _) = apply_all(&ok).unwrap();
    s.redirect_uri = Some("/redirect_uri".to_string());
    let p: Vec<_> = check_server(&s)
        .into_iter()
        .map(|p| (p.severity, p.message))
        .collect();
    assert_eq!(
        p,
        vec![(
            Severity::Warning,
            "if the configured OIDCRedirectURI is relative, OIDCCookieDomain SHOULD be empty"
                .to_string()
        )]
    );
}

#[test]
fn check_server_file_cache_needs_a_passphrase() {
    let p = problems(&[
        (
            "OIDCOAuthIntrospectionEndpoint",
            &["https://as.example.com/i"],
        ),
        ("OIDCCacheType", &["file"]),
    ]);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].1.starts_with(
            "mandatory parameter 'OIDCCryptoPassphrase' is not set (OIDCCacheType file"
        )
    );
    assert!(
        problems(&[
            (
                "OIDCOAuthIntrospectionEndpoint",
                &["https://as.example.com/i"]
            ),
            ("OIDCCacheType", &["file"]),
            ("OIDCCacheEncrypt", &["Off"]),
        ])
        .is_empty()
    );
}

#[test]
fn cookie_domains() {
    assert!(cookie_domain_matches("www.example.com", "example.com"));
    assert!(cookie_domain_matches("www.example.com", ".example.com"));
    assert!(cookie_domain_matches("example.com", ".example.com"));
    assert!(cookie_domain_matches("WWW.Example.COM", "example.com"));
    assert!(!cookie_domain_matches("www.example.com", "ample.com"));
    assert!(!cookie_domain_matches("example.com", "www.example.com"));
    assert!(!cookie_domain_matches("www.example.com", "."));
    assert!(!cookie_domain_matches("www.example.com", ""));
    assert!(!cookie_domain_matches("", "example.com"));
    assert!(!cookie_domain_matches("é.example.com", "xample.com"));
}

#[test]
fn token_endpoint_auth_default() {
    assert_eq!(
        ServerConfig::default().provider_token_endpoint_auth(),
        EndpointAuth::None
    );
    assert_eq!(
        srv("OIDCClientSecret", &["s"]).provider_token_endpoint_auth(),
        EndpointAuth::ClientSecretBasic
    );
    let (s, _) = apply_all(&[
        ("OIDCClientSecret", &["s"]),
        ("OIDCProviderTokenEndpointAuth", &["client_secret_post"]),
    ])
    .unwrap();
    assert_eq!(
        s.provider_token_endpoint_auth(),
        EndpointAuth::ClientSecretPost
    );
}

#[test]
fn refresh_directives() {
    use crate::config::types::{RefreshOnError, RefreshPolicy};
    const R: &str = "OIDCRefreshAccessTokenBeforeExpiry";
    const U: &str = "OIDCUserInfoRefreshInterval";
    let p = |seconds, on_error| Some(RefreshPolicy { seconds, on_error });
    assert_eq!(
        DirConfig::default().refresh_access_token_before_expiry(),
        None
    );
    assert_eq!(
        dir(R, &["60"]).refresh_access_token_before_expiry(),
        p(60, RefreshOnError::Continue)
    );
    assert_eq!(
        dir(R, &["0", "logout_on_error"]).refresh_access_token_before_expiry(),
        p(0, RefreshOnError::Logout)
    );
    assert_eq!(
        dir(R, &["30", "authenticate_on_error"]).refresh_access_token_before_expiry(),
        p(30, RefreshOnError::Authenticate)
    );
    assert!(err(R, &["-1"]).starts_with(R));
    assert!(err(R, &["31536001"]).starts_with(R));
    assert!(err(R, &["60", "502_on_error"]).starts_with(R));
    // merged per location: the more specific one wins
    let base = dir(R, &["60"]);
    let add = dir(R, &["10", "logout_on_error"]);
    assert_eq!(
        crate::config::dir::merge(&base, &add).refresh_access_token_before_expiry(),
        p(10, RefreshOnError::Logout)
    );
    assert_eq!(
        crate::config::dir::merge(&base, &DirConfig::default())
            .refresh_access_token_before_expiry(),
        p(60, RefreshOnError::Continue)
    );

    assert_eq!(ServerConfig::default().userinfo_refresh_interval(), None);
    assert_eq!(srv(U, &["0"]).userinfo_refresh_interval(), None);
    assert_eq!(
        srv(U, &["3600", "authenticate_on_error"]).userinfo_refresh_interval(),
        p(3600, RefreshOnError::Authenticate)
    );
    assert!(err(U, &["soon"]).starts_with(U));
}
