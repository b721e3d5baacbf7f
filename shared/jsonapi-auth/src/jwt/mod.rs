//! Access tokens: JWTs signed by [`TokenSigner`] and checked by [`TokenVerifier`].
//!
//! Verification pins the algorithm of the configured key (a token may not choose it: `none`,
//! HS256 against an asymmetric key or an asymmetric algorithm against an HS256 secret all fail),
//! requires `iss`, `aud`, `sub`, `exp` and `nbf`, and checks the times with a small leeway.
//! Tokens of an external OpenID provider are accepted when its JWKS is configured
//! ([`ExternalIssuer`]); they are recognised by the `kid` of one of its keys, and are then held
//! to that provider's issuer, audience and key algorithm.
//!
//! The phases live apart: `claims` (what a token says), `sign`, `verify`, and `refusal` (why a
//! token is refused).

mod claims;
mod refusal;
mod sign;
mod verify;

pub use claims::{AccessClaims, AccessToken, DEFAULT_ACCESS_TTL, DEFAULT_LEEWAY, MAX_TOKEN_BYTES};
pub use refusal::TokenError;
pub use sign::TokenSigner;
pub use verify::{ExternalIssuer, Principal, TokenVerifier, claimed_issuer};

#[cfg(test)]
mod tests;
