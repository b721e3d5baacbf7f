//! The engine's keys: the verifier every route checks bearer tokens with, and the token
//! service that signs. They are built apart, on first use, because in the cloud only the token
//! function may read the private key: a verifying function reads the published public keys and
//! nothing else (`meta#public-keys`; template.yaml denies the others `meta#signing-key`).
//!
//! A key given by the deployment (`JWT_PRIVATE_KEY`, `JWT_SECRET`) is used for both and never
//! changes. Otherwise the key kept in the store is used: made by the first token request, and
//! replaced by [`Engine::rotate_signing_key`]; a signing process reads the private key again
//! when its copy is older than the auth cache TTL, so it follows a rotation within seconds.

use std::sync::Arc;
use std::time::Instant;

use jsonapi_auth::{
    ExternalIssuer, ExternalSource, JwksLocation, KeyStore, OwnKeys, PublishedKey, Refresh,
    Rotation, ServiceOptions, TokenService, TokenSigner, Verifier,
};
use jsonapi_config::IssuerKeys;
use jsonapi_store::Store;
use serde_json::json;

use super::users::Users;
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};

impl<S: Store> Engine<S> {
    /// The verifier of bearer tokens: our public keys (the deployment's key, or those
    /// published in the store) and the configured external issuers'.
    pub(crate) async fn verifier(&self) -> ApiResult<&Verifier<S>> {
        self.auth
            .verifier
            .get_or_try_init(|| async {
                let settings = &self.schema.api.auth;
                let own = match &self.auth.key {
                    Some(key) => OwnKeys::Fixed(Box::new(key.verifying_key())),
                    None => OwnKeys::Stored,
                };
                let external = settings
                    .external_issuers
                    .iter()
                    .map(|issuer| {
                        let (jwks, fetch) = match &issuer.keys {
                            IssuerKeys::Inline(jwks) => (jwks.clone(), None),
                            IssuerKeys::Uri(uri) => {
                                (json!({"keys": []}), Some(JwksLocation::Uri(uri.clone())))
                            }
                            IssuerKeys::Discovery => {
                                (json!({"keys": []}), Some(JwksLocation::Discovery))
                            }
                        };
                        ExternalSource {
                            issuer: ExternalIssuer {
                                issuer: issuer.issuer.clone(),
                                audiences: issuer.audiences.clone(),
                                jwks,
                                roles_claim: issuer.roles_claim.clone(),
                            },
                            fetch,
                        }
                    })
                    .collect();
                Verifier::load(
                    Arc::clone(&self.store),
                    &settings.issuer,
                    &settings.audience,
                    own,
                    external,
                    Refresh::default(),
                )
                .await
                .map_err(key_error)
            })
            .await
    }

    /// The token service, signing with the deployment's key or the stored one. With `create`,
    /// a key is made and stored when there is none; without, `None` until one exists. A stored
    /// key is read again once the copy held is older than the auth cache TTL, and replaced
    /// when it was rotated.
    pub(crate) async fn token_service(
        &self,
        create: bool,
    ) -> ApiResult<Option<&TokenService<S, Users<S>>>> {
        if let Some(service) = self.auth.service.get() {
            self.follow_rotation(service).await?;
            return Ok(Some(service));
        }
        let key = match &self.auth.key {
            Some(key) => key.clone(),
            None => {
                let stored = self
                    .key_store()
                    .signing_key(create)
                    .await
                    .map_err(key_error)?;
                let Some(key) = stored else { return Ok(None) };
                *self.key_read() = Some(Instant::now());
                // This process may just have made the key: what it verifies with must know it.
                if let Some(verifier) = self.auth.verifier.get() {
                    verifier.reload_own().await.map_err(key_error)?;
                }
                key
            }
        };
        let settings = &self.schema.api.auth;
        let signer = TokenSigner::new(key, &settings.issuer, &settings.audience)
            .with_ttl(settings.access_token_lifetime);
        let options = ServiceOptions {
            refresh_ttl: settings.refresh_token_lifetime,
            passwords: self.auth.passwords.clone(),
            ..ServiceOptions::default()
        };
        let users = Users::new(Arc::clone(&self.schema), Arc::clone(&self.store));
        let service = TokenService::new(Arc::clone(&self.store), signer, users, options);
        Ok(Some(
            self.auth.service.get_or_init(|| async { service }).await,
        ))
    }

    fn key_store(&self) -> KeyStore<S> {
        KeyStore::new(Arc::clone(&self.store))
    }

    fn key_read(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.auth
            .key_read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Signs with the stored key that is current now (read again when the copy is older than
    /// the auth cache TTL).
    async fn follow_rotation(&self, service: &TokenService<S, Users<S>>) -> ApiResult<()> {
        if self.auth.key.is_some()
            || self
                .key_read()
                .is_some_and(|read| read.elapsed() < self.auth.ttl)
        {
            return Ok(());
        }
        let current = self.key_store().current().await.map_err(key_error)?;
        *self.key_read() = Some(Instant::now());
        if let Some(key) = current
            && key.key_id() != service.signer().key().key_id()
        {
            tracing::info!(kid = key.key_id(), "signing with the rotated key");
            service.set_signing_key(key);
            if let Some(verifier) = self.auth.verifier.get() {
                verifier.reload_own().await.map_err(key_error)?;
            }
        }
        Ok(())
    }

    /// Reads what checking tokens needs now (the published public keys, when the deployment
    /// gives no key), so that no request pays for it: a function's init calls it. A store
    /// failure here is left for the first request to meet and report.
    pub async fn prepare_auth(&self) {
        if self.schema.api.auth.enabled && self.verifier().await.is_err() {
            tracing::warn!("the public keys could not be read at init; requests will try again");
        }
    }

    /// Reads what signing needs now (the stored private key, publishing its public half if a
    /// store written before public keys were kept apart holds it alone): the token function's
    /// init calls it. A store failure is left for the first request.
    pub async fn prepare_signing(&self) {
        if self.schema.api.auth.enabled && self.token_service(false).await.is_err() {
            tracing::warn!("the signing key could not be read at init; requests will try again");
        }
    }

    /// Makes a new signing key current in the store; the previous ones keep verifying the
    /// tokens they signed for `retire_after` seconds (the longest access-token lifetime in
    /// use) and a margin.
    ///
    /// # Errors
    /// The deployment gives its own key (rotate it there), or the store failed.
    pub async fn rotate_signing_key(&self, retire_after: u64) -> Result<Rotation, KeysError> {
        if self.auth.key.is_some() {
            return Err(KeysError::GivenByDeployment);
        }
        Ok(self.key_store().rotate(retire_after).await?)
    }

    /// The public keys published in the store, retired ones included.
    ///
    /// # Errors
    /// The store failed.
    pub async fn published_keys(&self) -> Result<Vec<PublishedKey>, KeysError> {
        Ok(self.key_store().published().await?)
    }
}

/// Why the signing keys could not be rotated or listed.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The deployment gives the key (`JWT_PRIVATE_KEY`, `JWT_SECRET`): it is rotated there.
    #[error("the signing key comes from JWT_PRIVATE_KEY or JWT_SECRET; change it there")]
    GivenByDeployment,
    /// The stored keys could not be read or written.
    #[error(transparent)]
    Store(#[from] jsonapi_auth::KeyStoreError),
}

fn key_error(e: jsonapi_auth::KeyStoreError) -> crate::ApiErrors {
    match e {
        jsonapi_auth::KeyStoreError::Store(e) => e.into(),
        other => ApiError::internal(&other).into(),
    }
}
