//! The permissions one request runs with, and the refusals: 401 (no or a bad token) and 403
//! `access denied exception`.

use std::sync::Arc;

use jsonapi_auth::{Grants, Permission, TokenError};

use crate::error::{ApiError, ApiErrors, ErrorKind};
use crate::extension::ChangeSet;
use crate::filter::PathPredicate;

/// What the caller of one request may do.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// Authentication is off, or the engine's own in-process caller (the seed loader).
    Everything,
    /// A caller holding these grants; `anonymous` when the request carried no token (its
    /// grants are then VIEW on the types open to anonymous reads).
    Granted {
        grants: Grants,
        anonymous: bool,
        /// Who the token speaks for (its issuer's subject), which owns what the caller
        /// starts, such as asynchronous operations; `None` for anonymous callers.
        caller: Option<Arc<str>>,
    },
}

/// The 403 of every missing permission.
pub(crate) fn access_denied() -> ApiError {
    ApiError::new(
        ErrorKind::AccessDenied,
        "No access to this type of entities.",
    )
}

/// The 401 of a request without a token where one is needed: its challenge has no error code,
/// as no credentials came (RFC 6750 §3).
pub(crate) fn unauthenticated() -> ApiError {
    challenged(
        "A valid access token is required (Authorization: Bearer ...).",
        "Bearer realm=\"api\"".to_owned(),
    )
}

/// The auth crate's refusal of a token, told as a 401 whose challenge says why.
impl From<TokenError> for ApiError {
    fn from(refusal: TokenError) -> Self {
        challenged(refusal.reason(), refusal.www_authenticate())
    }
}

fn challenged(detail: &str, challenge: String) -> ApiError {
    ApiError {
        challenge: Some(challenge),
        ..ApiError::new(
            ErrorKind::Authentication,
            format!("{}.", detail.trim_end_matches('.')),
        )
    }
}

impl Access {
    /// Whether the caller holds `permission` on `ty`.
    pub(crate) fn allows(&self, ty: &str, permission: Permission) -> bool {
        match self {
            Self::Everything => true,
            Self::Granted { grants, .. } => grants.allows(ty, permission),
        }
    }

    /// Who the caller is, as the owner of what it starts (`None`: the process itself, or a
    /// deployment without roles, where every caller may do everything).
    pub(crate) fn caller(&self) -> Option<&str> {
        match self {
            Self::Everything => None,
            Self::Granted { caller, .. } => caller.as_deref(),
        }
    }

    /// Whether the caller may read resources of `ty` (what `include`, titles and filter paths
    /// reach into).
    pub(crate) fn can_view(&self, ty: &str) -> bool {
        self.allows(ty, Permission::View)
    }

    /// Refuses unless the caller holds every one of `needed` on `ty`: an anonymous caller is
    /// asked to authenticate (401), an authenticated one is denied (403).
    pub(crate) fn require(&self, ty: &str, needed: &[Permission]) -> Result<(), ApiError> {
        if needed.iter().all(|p| self.allows(ty, *p)) {
            return Ok(());
        }
        Err(match self {
            Self::Granted {
                anonymous: true, ..
            } => unauthenticated(),
            _ => access_denied(),
        })
    }

    /// A deletion's delete rules change resources of other types (cascade deletes them,
    /// nullify edits them): the caller must hold DELETE or EDIT on each type so changed.
    pub(crate) fn check_delete_rules(&self, changes: &ChangeSet) -> Result<(), ApiErrors> {
        let mut refused: Vec<(&str, Permission)> = Vec::new();
        for change in changes.changes() {
            let (ty, needed) = match (&change.before, &change.after) {
                (Some(before), None) => (before.ty.name(), Permission::Delete),
                (_, Some(after)) => (after.ty.name(), Permission::Edit),
                (None, None) => continue,
            };
            if !self.allows(ty, needed) && !refused.contains(&(ty, needed)) {
                refused.push((ty, needed));
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        Err(ApiErrors(
            refused
                .into_iter()
                .map(|(ty, needed)| {
                    ApiError::new(
                        ErrorKind::AccessDenied,
                        format!(
                            "Deleting this would {} \"{ty}\" resources (a delete rule), which needs {needed} permission on them.",
                            if needed == Permission::Delete { "delete" } else { "change" },
                        ),
                    )
                })
                .collect(),
        ))
    }

    /// Filters through relationships read the related type: a filter path crossing a type the
    /// caller may not view would let it probe values it cannot read, so it is refused.
    pub(crate) fn check_filter_paths(&self, filters: &[PathPredicate]) -> Result<(), ApiErrors> {
        let mut errors = Vec::new();
        for filter in filters {
            for rel in &filter.path {
                if !self.can_view(&rel.target) {
                    errors.push(access_denied().param(filter.predicate.parameter.clone()));
                    break;
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiErrors(errors))
        }
    }
}
