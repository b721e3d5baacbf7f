//! Amounts in another currency: the stored amount (default currency) times the currency's
//! rate, in exact decimal arithmetic, rounded half away from zero to the currency's minor
//! unit and shown with exactly that many decimals (`"10.00"` USD at 0.92 is `"9.20"` EUR).

use std::str::FromStr;

use jsonapi_config::Currency;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

/// The amount in `currency`; `null` stays `null`, and so does an amount too large to convert
/// (beyond `Decimal`'s 7.9 × 10^28), rather than a wrong number.
pub(super) fn convert(stored: &Value, currency: &Currency) -> Value {
    let Some(amount) = stored.as_str().and_then(|s| Decimal::from_str(s).ok()) else {
        return Value::Null;
    };
    match amount.checked_mul(currency.rate) {
        Some(converted) => {
            let mut rounded = converted
                .round_dp_with_strategy(currency.decimals, RoundingStrategy::MidpointAwayFromZero);
            rounded.rescale(currency.decimals);
            Value::String(rounded.to_string())
        }
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn currency(rate: &str, decimals: u32) -> Currency {
        Currency {
            code: "X".into(),
            rate: Decimal::from_str(rate).unwrap(),
            decimals,
        }
    }

    #[test]
    fn amounts_are_converted_and_rounded_to_the_minor_unit() {
        assert_eq!(convert(&json!("10"), &currency("0.92", 2)), json!("9.20"));
        // 0.125 rounds half away from zero.
        assert_eq!(convert(&json!("0.25"), &currency("0.5", 2)), json!("0.13"));
        assert_eq!(
            convert(&json!("19.99"), &currency("151.37", 0)),
            json!("3026")
        );
        assert_eq!(convert(&Value::Null, &currency("2", 2)), Value::Null);
        assert_eq!(
            convert(&json!("79000000000000000000000000000"), &currency("2", 2)),
            Value::Null
        );
    }
}
