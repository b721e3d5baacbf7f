//! The settings of the storefront headers: `X-Localization-ID` (`api.localizations`),
//! `X-Currency` (`api.currencies`) and a type's alternate id header (`types.{type}.alternateId`,
//! the model's `X-Product-ID: sku`).

use indexmap::IndexMap;
use rust_decimal::Decimal;

/// The localizations `X-Localization-ID` may name, each with the one it falls back to; the
/// last of every chain falls back to an attribute's default value.
#[derive(Debug, Clone, Default)]
pub struct Localizations(pub(crate) IndexMap<String, Option<String>>);

impl Localizations {
    /// No localization is declared (the header is not read).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every localization id, in the order of the file.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The localization a value of `id` is looked up in first, then its fallbacks in order;
    /// `None` for an id that is not declared. The configuration check refused cycles, so the
    /// chain ends.
    pub fn chain(&self, id: &str) -> Option<Vec<String>> {
        let mut chain = vec![self.0.get_key_value(id)?.0.clone()];
        while let Some(Some(next)) = self.0.get(chain.last()?) {
            chain.push(next.clone());
        }
        Some(chain)
    }
}

/// One currency `X-Currency` may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    /// Its code (`EUR`).
    pub code: String,
    /// Units of it per unit of the default currency (the default's own is 1).
    pub rate: Decimal,
    /// Digits after the decimal point of its minor unit (default 2), which converted amounts
    /// are rounded to.
    pub decimals: u32,
}

/// The currencies money attributes may be returned in (`api.currencies`).
#[derive(Debug, Clone)]
pub struct Currencies {
    /// The currency amounts are stored in (its rate is 1).
    pub default: String,
    /// Every currency by code, the default included.
    pub by_code: IndexMap<String, Currency>,
}

impl Currencies {
    /// The currency with this code.
    pub fn get(&self, code: &str) -> Option<&Currency> {
        self.by_code.get(code)
    }
}

/// A header that names a type's resources by a unique attribute on its item routes
/// (`X-Product-ID: sku` addresses `/api/products/{sku}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlternateId {
    /// The header's name (`X-Product-ID`).
    pub header: String,
    /// The one value it takes (`sku`); any other is a 400.
    pub value: String,
    /// The unique attribute the path's id then names.
    pub attribute: String,
}
