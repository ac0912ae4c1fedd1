//! JSON Schema's `integer` (what openapi.json declares) includes `4348.0`;
//! serde's `u32` refuses it. A client whose JSON library writes whole
//! numbers with a `.0` is sending a valid body, so it is read as the number.

use serde::{Deserialize, Deserializer, de::Error as _};

/// An optional whole number from 0 to `u32::MAX`, written `7` or `7.0`.
pub fn optional_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    whole(&n)
        .and_then(|v| u32::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!("{n} is not a whole number from 0 to {}", u32::MAX))
        })
}

fn whole(n: &serde_json::Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f))
            .map(|f| f as u64)
    })
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "super::optional_u32")]
        n: Option<u32>,
    }

    fn n(json: &str) -> Result<Option<u32>, String> {
        serde_json::from_str::<T>(json)
            .map(|t| t.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_with_or_without_a_fraction_part() {
        assert_eq!(n(r#"{"n": 4348}"#), Ok(Some(4348)));
        assert_eq!(n(r#"{"n": 4348.0}"#), Ok(Some(4348)));
        assert_eq!(n(r#"{}"#), Ok(None));
        assert_eq!(n(r#"{"n": null}"#), Ok(None));
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": "7"}"#,
        ] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }
}
