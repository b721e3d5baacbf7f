//! `api.auth`: token lifetimes, the users and roles types it relies on, external issuers.

use indexmap::IndexMap;
use serde_json::Value;

use super::problem::{Checked, problem};
use crate::raw::{RawAuth, RawIssuer};
use crate::schema::{
    AuthSettings, DataType, ExternalIssuerSettings, IssuerKeys, ResourceType, TypeRef,
};

/// The default lifetime of refresh tokens: the model's 18144000 s.
const REFRESH_TOKEN_LIFETIME: u64 = 18_144_000;

pub(super) fn check_auth(
    raw: &RawAuth,
    types: &IndexMap<String, ResourceType>,
) -> Checked<AuthSettings> {
    let access = raw.access_token_lifetime.unwrap_or(3600);
    if !(60..=86_400).contains(&access) {
        return Err(problem(
            &["api", "auth", "accessTokenLifetime"],
            "must be between 60 and 86400 seconds",
        ));
    }
    let refresh = raw.refresh_token_lifetime.unwrap_or(REFRESH_TOKEN_LIFETIME);
    if refresh < access {
        return Err(problem(
            &["api", "auth", "refreshTokenLifetime"],
            "must not be shorter than accessTokenLifetime",
        ));
    }
    for (n, ty) in raw.anonymous.iter().enumerate() {
        if !types.contains_key(ty) {
            return Err(problem(
                &["api", "auth", "anonymous", &n.to_string()],
                format!("unknown type \"{ty}\""),
            ));
        }
    }
    let roles = check_roles_type(raw.roles.as_deref(), types)?;
    let users = check_users_type(raw.users.as_deref(), roles.as_deref(), types)?;
    let external_issuers = raw
        .external_issuers
        .iter()
        .enumerate()
        .map(|(n, issuer)| check_external_issuer(&n.to_string(), issuer))
        .collect::<Checked<Vec<_>>>()?;
    Ok(AuthSettings {
        enabled: raw.enabled.unwrap_or(true),
        issuer: raw.issuer.clone().unwrap_or_else(|| "jsonapi".to_owned()),
        audience: raw.audience.clone().unwrap_or_else(|| "jsonapi".to_owned()),
        access_token_lifetime: access,
        refresh_token_lifetime: refresh,
        anonymous: raw.anonymous.clone(),
        users,
        roles,
        external_issuers,
    })
}

/// One of `api.auth.externalIssuers` (the `n`th): who it is and where its keys come from.
fn check_external_issuer(n: &str, issuer: &RawIssuer) -> Checked<ExternalIssuerSettings> {
    if issuer.issuer.trim().is_empty() {
        return Err(problem(
            &["api", "auth", "externalIssuers", n, "issuer"],
            "must not be empty",
        ));
    }
    let at = |key| ["api", "auth", "externalIssuers", n, key];
    let keys = match (&issuer.jwks, &issuer.jwks_uri) {
        (Some(_), Some(_)) => {
            return Err(problem(
                &at("jwksUri"),
                "give the keys inline (jwks) or where to fetch them (jwksUri), not both",
            ));
        }
        (Some(jwks), None) => {
            if !jwks.get("keys").is_some_and(Value::is_array) {
                return Err(problem(
                    &at("jwks"),
                    "must be a JWKS document: a mapping with a \"keys\" list",
                ));
            }
            IssuerKeys::Inline(jwks.clone())
        }
        (None, Some(uri)) => {
            fetchable_url(uri).map_err(|e| problem(&at("jwksUri"), e.to_string()))?;
            IssuerKeys::Uri(uri.clone())
        }
        (None, None) => {
            fetchable_url(&issuer.issuer).map_err(|e| {
                    problem(
                        &at("issuer"),
                        format!("{e} (without jwks or jwksUri, the keys are found through the issuer's OpenID configuration)"),
                    )
                })?;
            IssuerKeys::Discovery
        }
    };
    Ok(ExternalIssuerSettings {
        issuer: issuer.issuer.clone(),
        audiences: issuer.audiences.clone(),
        roles_claim: issuer
            .roles_claim
            .clone()
            .unwrap_or_else(|| "roles".to_owned()),
        keys,
    })
}

/// A URL keys may not be fetched from.
#[derive(Debug, thiserror::Error)]
#[error("must be an https URL (http only on 127.0.0.1, [::1] or localhost), not \"{0}\"")]
struct NotFetchable(String);

/// Whether keys may be fetched from `url`: an absolute `https` URL, or `http` on a loopback
/// host (a local identity provider).
fn fetchable_url(url: &str) -> Result<(), NotFetchable> {
    let problem = || NotFetchable(url.to_owned());
    let url = crate::public_url(url).map_err(|_| problem())?;
    if url.starts_with("https://") {
        return Ok(());
    }
    let authority = url["http://".len()..].split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback { Ok(()) } else { Err(problem()) }
}

/// What a type lacks for the part auth gives it ("needs a ..." after the type's name).
struct Unfit(String);

/// A type auth relies on: the one named under `key`, or else `default` when the API has such
/// a type; it must pass `check`. With `lenient`, a default type that does not pass is simply
/// not used (an API whose `users` type is not made for signing in has no password grant);
/// without, it is an error (no roles type would let every caller do everything).
fn auth_type(
    key: &str,
    named: Option<&str>,
    (default, lenient): (&str, bool),
    types: &IndexMap<String, ResourceType>,
    check: impl Fn(&ResourceType) -> Result<(), Unfit>,
) -> Checked<Option<TypeRef>> {
    let at = ["api", "auth", key];
    let ty = match named {
        Some(ty) => ty,
        None if types.contains_key(default) => default,
        None => return Ok(None),
    };
    let (index, _, resolved) = types
        .get_full(ty)
        .ok_or_else(|| problem(&at, format!("unknown type \"{ty}\"")))?;
    match check(resolved) {
        Ok(()) => Ok(Some(TypeRef::new(ty.to_owned(), index))),
        Err(_) if named.is_none() && lenient => Ok(None),
        Err(Unfit(m)) => Err(problem(&at, format!("the type \"{ty}\" {m}"))),
    }
}

/// The roles type needs a `permissions` json attribute.
fn check_roles_type(
    named: Option<&str>,
    types: &IndexMap<String, ResourceType>,
) -> Checked<Option<TypeRef>> {
    auth_type("roles", named, ("roles", false), types, |ty| {
        if ty
            .attributes
            .get("permissions")
            .is_some_and(|a| a.data_type == DataType::Json)
        {
            Ok(())
        } else {
            Err(Unfit(
                "needs a \"permissions\" attribute of type json".to_owned(),
            ))
        }
    })
}

/// The users type needs a unique string `username`, a string `password` and, with a roles
/// type, a to-many `roles` relationship to it.
fn check_users_type(
    named: Option<&str>,
    roles: Option<&str>,
    types: &IndexMap<String, ResourceType>,
) -> Checked<Option<TypeRef>> {
    auth_type("users", named, ("users", true), types, |ty| {
        let string = |name: &str| {
            ty.attributes
                .get(name)
                .filter(|a| a.data_type == DataType::String)
        };
        if !string("username").is_some_and(|a| a.unique) || string("password").is_none() {
            return Err(Unfit(
                "needs a unique string attribute \"username\" and a string attribute \"password\""
                    .to_owned(),
            ));
        }
        match roles {
            Some(roles)
                if !ty
                    .relationships
                    .get("roles")
                    .is_some_and(|r| r.many && r.target == roles) =>
            {
                Err(Unfit(format!(
                    "needs a to-many \"roles\" relationship to \"{roles}\""
                )))
            }
            _ => Ok(()),
        }
    })
}
