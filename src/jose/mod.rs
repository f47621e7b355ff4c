//! JOSE: compact JWS parsing and verification, JWK/JWKS, JWT claim checks (RFC 7515/7517/7518/7519/8725).
