//! The storefront headers: `api.localizations`, `api.currencies`, the attributes that use
//! them (`localizable`, `money`), each type's `alternateId`, and the CORS headers they add.

use std::str::FromStr;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde_json::Value;

use super::problem::{Checked, problem};
use crate::raw::{RawAlternateId, RawCurrencies, RawLocalization, RawType};
use crate::schema::{
    AlternateId, ApiSettings, Currencies, Currency, DataType, Localizations, ResourceType,
};

/// The request headers the storefront settings make a browser send.
const LOCALIZATION_HEADER: &str = "X-Localization-ID";
const CURRENCY_HEADER: &str = "X-Currency";

/// Ids are header values and parts of stored member names: letters, digits, `_` and `-`.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(super) fn check_localizations(
    raw: &IndexMap<String, Option<RawLocalization>>,
) -> Checked<Localizations> {
    let mut out = IndexMap::new();
    for (id, l) in raw {
        if !plain_id(id) {
            return Err(problem(
                &["api", "localizations", id],
                "a localization id is letters, digits, \"_\" and \"-\" (e.g. \"fr_CA\")",
            ));
        }
        let fallback = l.as_ref().and_then(|l| l.fallback.clone());
        if let Some(f) = &fallback
            && !raw.contains_key(f)
        {
            return Err(problem(
                &["api", "localizations", id, "fallback"],
                format!("\"{f}\" is not a declared localization"),
            ));
        }
        out.insert(id.clone(), fallback);
    }
    // A fallback chain must end at the default value: no localization may reach itself.
    for id in out.keys() {
        let mut at = id;
        for _ in 0..out.len() {
            match &out[at] {
                Some(next) if next == id => {
                    return Err(problem(
                        &["api", "localizations", id, "fallback"],
                        "the fallbacks go round in a circle: one of them must fall back to the default value (no fallback)",
                    ));
                }
                Some(next) => at = next,
                None => break,
            }
        }
    }
    Ok(Localizations(out))
}

pub(super) fn check_currencies(raw: Option<&RawCurrencies>) -> Checked<Option<Currencies>> {
    let Some(raw) = raw else { return Ok(None) };
    let key = |rest: &[&str]| {
        let mut k = vec!["api", "currencies"];
        k.extend_from_slice(rest);
        k.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let fail = |rest: &[&str], message: String| {
        let k = key(rest);
        problem(&k.iter().map(String::as_str).collect::<Vec<_>>(), message)
    };
    let mut by_code = IndexMap::new();
    for (code, rate) in &raw.rates {
        if !plain_id(code) {
            return Err(fail(
                &["rates", code],
                "a currency code is letters and digits (e.g. \"EUR\")".into(),
            ));
        }
        let text = match rate {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        let rate = Decimal::from_str(&text)
            .ok()
            .filter(|r| r.is_sign_positive() && !r.is_zero())
            .ok_or_else(|| fail(&["rates", code], "must be a positive number".into()))?;
        let decimals = raw.decimals.get(code).copied().unwrap_or(2);
        if decimals > 8 {
            return Err(fail(&["decimals", code], "must be at most 8".into()));
        }
        by_code.insert(
            code.clone(),
            Currency {
                code: code.clone(),
                rate,
                decimals,
            },
        );
    }
    if let Some(code) = raw.decimals.keys().find(|c| !by_code.contains_key(*c)) {
        return Err(fail(
            &["decimals", code],
            format!("\"{code}\" has no rate in api.currencies.rates"),
        ));
    }
    match by_code.get(&raw.default) {
        None => Err(fail(
            &["default"],
            format!("\"{}\" has no rate in api.currencies.rates", raw.default),
        )),
        Some(c) if c.rate != Decimal::ONE => Err(fail(
            &["rates", &raw.default],
            "the default currency's rate must be 1: the other rates are per unit of it".into(),
        )),
        Some(_) => Ok(Some(Currencies {
            default: raw.default.clone(),
            by_code,
        })),
    }
}

/// `localizable` and `money` attributes: of a type that can hold them, with the API settings
/// they need.
pub(super) fn check_storefront_attributes(ty: &ResourceType, api: &ApiSettings) -> Checked<()> {
    for a in ty.attributes.values() {
        let path = |k: &'static str| ["types", &ty.name, "attributes", &a.name, k];
        if a.localizable {
            if !matches!(a.data_type, DataType::String | DataType::Text) {
                return Err(problem(
                    &path("localizable"),
                    "localizable applies to string and text attributes only",
                ));
            }
            if a.unique {
                return Err(problem(
                    &path("localizable"),
                    "a unique attribute cannot be localizable (uniqueness holds for one value)",
                ));
            }
            if api.localizations.is_empty() {
                return Err(problem(
                    &path("localizable"),
                    "declare the localizations in api.localizations",
                ));
            }
        }
        if a.money {
            if a.data_type != DataType::Decimal {
                return Err(problem(
                    &path("money"),
                    "money applies to decimal attributes only",
                ));
            }
            if api.currencies.is_none() {
                return Err(problem(
                    &path("money"),
                    "declare the currencies in api.currencies",
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn check_alternate_id(
    name: &str,
    raw: &RawType,
    attributes: &IndexMap<String, crate::schema::Attribute>,
) -> Checked<Option<AlternateId>> {
    let Some(RawAlternateId {
        header,
        value,
        attribute,
    }) = &raw.alternate_id
    else {
        return Ok(None);
    };
    let path = |k: &'static str| ["types", name, "alternateId", k];
    if !super::names::http_token(header) {
        return Err(problem(&path("header"), "is not a header name"));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(problem(
            &path("value"),
            "must be a header value without spaces (e.g. \"sku\")",
        ));
    }
    match attributes.get(attribute) {
        Some(a) if a.unique && a.data_type == DataType::String => Ok(Some(AlternateId {
            header: header.clone(),
            value: value.clone(),
            attribute: attribute.clone(),
        })),
        _ => Err(problem(
            &path("attribute"),
            format!("\"{attribute}\" must be a unique string attribute of \"{name}\""),
        )),
    }
}

/// The storefront headers the settings use; a browser sends them only when CORS allows them, so
/// they join `api.cors.allowHeaders` too.
pub(super) fn allow_storefront_headers<'a>(
    api: &mut ApiSettings,
    types: impl Iterator<Item = &'a ResourceType>,
) {
    let mut wanted: Vec<String> = Vec::new();
    if !api.localizations.is_empty() {
        wanted.push(LOCALIZATION_HEADER.to_owned());
    }
    if api.currencies.is_some() {
        wanted.push(CURRENCY_HEADER.to_owned());
    }
    for alternate in types.filter_map(|t| t.alternate_id.as_ref()) {
        // Two types may share one header.
        if !wanted
            .iter()
            .any(|w| w.eq_ignore_ascii_case(&alternate.header))
        {
            wanted.push(alternate.header.clone());
        }
    }
    for h in &wanted {
        if !api
            .cors
            .allow_headers
            .iter()
            .any(|a| a.eq_ignore_ascii_case(h))
        {
            api.cors.allow_headers.push(h.clone());
        }
    }
    api.storefront_headers = wanted;
}

#[cfg(test)]
mod tests {
    /// A products type with `settings` under `api:` and `extra` attribute settings of `name`.
    fn config(settings: &str, name_settings: &str, alternate: &str) -> String {
        format!(
            "api:\n  cors: {{ allowOrigins: [\"*\"] }}\n{settings}types:\n  products:\n    id: sequence\n    attributes:\n      sku: {{ type: string, unique: true }}\n      name: {{ type: string{name_settings} }}\n      price: {{ type: decimal }}\n{alternate}"
        )
    }

    fn error_key(text: &str) -> String {
        crate::parse("api.yaml", text)
            .expect_err("the file is invalid")
            .key
    }

    #[test]
    fn fallbacks_name_declared_localizations_and_end() {
        let ok = crate::parse(
            "api.yaml",
            &config(
                "  localizations:\n    fr: {}\n    fr_CA: { fallback: fr }\n",
                ", localizable: true",
                "",
            ),
        )
        .expect("valid");
        assert_eq!(
            ok.api.localizations.chain("fr_CA"),
            Some(vec!["fr_CA".to_owned(), "fr".to_owned()])
        );
        assert_eq!(ok.api.localizations.chain("de"), None);
        assert_eq!(
            error_key(&config(
                "  localizations:\n    fr: { fallback: de }\n",
                "",
                ""
            )),
            "api.localizations.fr.fallback"
        );
        assert_eq!(
            error_key(&config(
                "  localizations:\n    a: { fallback: b }\n    b: { fallback: a }\n",
                "",
                ""
            )),
            "api.localizations.a.fallback"
        );
        assert_eq!(
            error_key(&config("", ", localizable: true", "")),
            "types.products.attributes.name.localizable"
        );
    }

    #[test]
    fn currencies_have_positive_rates_and_a_default_of_rate_one() {
        let rates = "  currencies:\n    default: USD\n    rates: { USD: 1, EUR: \"0.92\", JPY: 151.37 }\n    decimals: { JPY: 0 }\n";
        let ok = crate::parse("api.yaml", &config(rates, "", "")).expect("valid");
        let currencies = ok.api.currencies.expect("declared");
        assert_eq!(currencies.get("JPY").map(|c| c.decimals), Some(0));
        assert_eq!(
            currencies.get("EUR").map(|c| c.rate.to_string()),
            Some("0.92".into())
        );
        let bad = "  currencies:\n    default: USD\n    rates: { USD: 1, EUR: 0 }\n";
        assert_eq!(error_key(&config(bad, "", "")), "api.currencies.rates.EUR");
        let bad = "  currencies:\n    default: USD\n    rates: { USD: 2 }\n";
        assert_eq!(error_key(&config(bad, "", "")), "api.currencies.rates.USD");
        let bad = "  currencies:\n    default: CHF\n    rates: { USD: 1 }\n";
        assert_eq!(error_key(&config(bad, "", "")), "api.currencies.default");
        assert_eq!(
            error_key(&config("", ", money: true", "")),
            "types.products.attributes.name.money"
        );
    }

    #[test]
    fn an_alternate_id_names_a_unique_string_attribute_and_is_allowed_by_cors() {
        let ok = crate::parse(
            "api.yaml",
            &config(
                "",
                "",
                "    alternateId: { header: X-Product-ID, value: sku, attribute: sku }\n",
            ),
        )
        .expect("valid");
        assert!(
            ok.api
                .cors
                .allow_headers
                .iter()
                .any(|h| h == "X-Product-ID")
        );
        assert_eq!(
            error_key(&config(
                "",
                "",
                "    alternateId: { header: X-Product-ID, value: sku, attribute: name }\n"
            )),
            "types.products.alternateId.attribute"
        );
    }
}
