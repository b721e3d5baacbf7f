//! The storefront headers, as the model's storefront API reads them: `X-Localization-ID`
//! (localizable attributes in a localization, along its fallbacks), `X-Currency` (money
//! attributes converted from the default currency) and a type's alternate id header
//! (`X-Product-ID: sku`: item routes name the resource by a unique attribute).
//!
//! - `localized`: where a localization's values are kept beside the default, and read back.
//! - `money`: converting an amount, rounded to the currency's minor unit.
//! - `alternate_id`: resolving an item route's alternate id to the resource's id.
//!
//! Filters, sorts, unique values and `meta.title` use the default values, in the default
//! currency: they are the resource's, whatever the request asks its answer to be shown in.

mod alternate_id;
mod localized;
mod money;

use http::HeaderMap;
use jsonapi_config::{ApiSettings, Attribute, Currency};
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorKind};

/// The request header naming a localization.
pub(crate) const LOCALIZATION_HEADER: &str = "X-Localization-ID";
/// The request header naming a currency.
pub(crate) const CURRENCY_HEADER: &str = "X-Currency";

/// What one request's storefront headers ask for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Storefront {
    /// The asked localization, then its fallbacks; empty: the default values.
    localization: Vec<String>,
    /// The asked currency, when it is not the default one.
    currency: Option<Currency>,
}

/// The 400 of a header value the configuration does not declare.
fn unknown(header: &str, detail: String) -> ApiError {
    ApiError::new(ErrorKind::InvalidHeaderValue, detail).header(header)
}

/// A header's value as text, or the 400 that it is not text.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| unknown(name, format!("The \"{name}\" header must be plain text.")))
        })
        .transpose()
}

impl Storefront {
    /// Reads the headers the API declares settings for (the others are not read).
    ///
    /// # Errors
    /// A localization or currency the configuration does not declare (400, `source.header`).
    pub(crate) fn of(api: &ApiSettings, headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut out = Self::default();
        if !api.localizations.is_empty()
            && let Some(id) = text(headers, LOCALIZATION_HEADER)?
        {
            out.localization = api.localizations.chain(id).ok_or_else(|| {
                let known: Vec<&str> = api.localizations.ids().collect();
                unknown(
                    LOCALIZATION_HEADER,
                    format!(
                        "The localization \"{id}\" is unknown; the accepted values for the \"{LOCALIZATION_HEADER}\" are {}.",
                        quoted(&known)
                    ),
                )
            })?;
        }
        if let Some(currencies) = &api.currencies
            && let Some(code) = text(headers, CURRENCY_HEADER)?
        {
            let currency = currencies.get(code).ok_or_else(|| {
                let known: Vec<&str> = currencies.by_code.keys().map(String::as_str).collect();
                unknown(
                    CURRENCY_HEADER,
                    format!(
                        "The currency \"{code}\" is not supported; the accepted values for the \"{CURRENCY_HEADER}\" are {}.",
                        quoted(&known)
                    ),
                )
            })?;
            if currency.code != currencies.default {
                out.currency = Some(currency.clone());
            }
        }
        Ok(out)
    }

    /// An attribute's value as the response shows it: a localizable one in the asked
    /// localization (or the first of its fallbacks that has one, else the default), a money
    /// amount in the asked currency.
    pub(crate) fn shown(&self, attr: &Attribute, stored: &Map<String, Value>) -> Value {
        let value = if attr.localizable {
            localized::read(&attr.name, &self.localization, stored)
        } else {
            stored.get(&attr.name)
        };
        let value = value.cloned().unwrap_or(Value::Null);
        match (&self.currency, attr.money) {
            (Some(currency), true) => money::convert(&value, currency),
            _ => value,
        }
    }

    /// Stores a value a request writes: a localizable attribute's in the asked localization
    /// (on create the default too: a resource always has its default value), any other as
    /// is. `null` clears the localization's value, which then falls back again.
    ///
    /// # Errors
    /// A money amount sent with a currency other than the default one: amounts are stored in
    /// the default currency, and converting back would round a price the client chose.
    pub(crate) fn store(
        &self,
        attr: &Attribute,
        stored: &mut Map<String, Value>,
        value: Value,
        creating: bool,
    ) -> Result<(), ApiError> {
        if let (Some(currency), true) = (&self.currency, attr.money) {
            return Err(ApiError::new(
                ErrorKind::Value,
                format!(
                    "Amounts are written in the default currency; this request asks for {} (\"{CURRENCY_HEADER}\"): send it without that header.",
                    currency.code
                ),
            ));
        }
        match self.localization.first().filter(|_| attr.localizable) {
            Some(localization) => {
                if creating {
                    stored.insert(attr.name.clone(), value.clone());
                }
                localized::write(&attr.name, localization, stored, value);
            }
            None => {
                stored.insert(attr.name.clone(), value);
            }
        }
        Ok(())
    }
}

/// `"a", "b"`
fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
