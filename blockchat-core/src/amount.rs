//! Amounts in integer units (1 BCC = 1,000,000 units), the fee rules, and BCC text parsing.

use thiserror::Error;

/// Units in one BCC.
pub const UNITS_PER_BCC: u64 = 1_000_000;
/// Transfer fee, in percent of the amount sent (rounded up to a unit).
pub const TRANSFER_FEE_PERCENT: u64 = 3;
/// Message fee per character (Unicode scalar value): 1 BCC.
pub const MESSAGE_FEE_PER_CHAR: u64 = UNITS_PER_BCC;
/// Longest message accepted, in characters (Unicode scalar values).
pub const MAX_MESSAGE_CHARS: usize = 1_000;

/// Fee of a coin transfer of `amount` units: 3%, rounded up to a whole unit.
pub fn transfer_fee(amount: u64) -> u64 {
    let fee = (u128::from(amount) * u128::from(TRANSFER_FEE_PERCENT)).div_ceil(100);
    // 3% of a u64 always fits in a u64.
    fee as u64
}

/// Fee of a message of `chars` characters: 1 BCC each.
pub fn message_fee(chars: usize) -> u64 {
    (chars as u64).saturating_mul(MESSAGE_FEE_PER_CHAR)
}

/// Why a BCC amount written as text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    /// Not a decimal number such as `12` or `12.5`.
    #[error("'{0}' is not an amount (write BCC as a number, like 12 or 12.5)")]
    NotANumber(String),
    /// More than six decimal places: smaller than one unit.
    #[error("'{0}' has more than 6 decimal places (the smallest amount is 0.000001 BCC)")]
    TooPrecise(String),
    /// Too large to represent.
    #[error("'{0}' is too large")]
    TooLarge(String),
}

/// Reads a BCC amount such as `12`, `12.5` or `0.000001` into units.
pub fn parse_bcc(text: &str) -> Result<u64, AmountError> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(AmountError::NotANumber(text.to_string()));
    }
    if frac.len() > 6 {
        return Err(AmountError::TooPrecise(text.to_string()));
    }
    let too_large = || AmountError::TooLarge(text.to_string());
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
    let frac_units: u64 = format!("{frac:0<6}").parse().map_err(|_| too_large())?;
    whole.checked_mul(UNITS_PER_BCC).and_then(|w| w.checked_add(frac_units)).ok_or_else(too_large)
}

/// Writes units as BCC with no trailing zeros: `12500000` → `12.5`.
pub fn format_bcc(units: u64) -> String {
    let whole = units / UNITS_PER_BCC;
    let frac = units % UNITS_PER_BCC;
    if frac == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:06}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_fee_table() {
        // (amount, fee): 3% rounded up to a unit.
        for (amount, fee) in [
            (0, 0),
            (1, 1),
            (33, 1),
            (34, 2),
            (100, 3),
            (101, 4),
            (UNITS_PER_BCC, 30_000),
            (10 * UNITS_PER_BCC, 300_000),
            (u64::MAX, 553_402_322_211_286_549),
        ] {
            assert_eq!(transfer_fee(amount), fee, "amount {amount}");
        }
    }

    #[test]
    fn message_fee_counts_characters() {
        assert_eq!(message_fee("hello".chars().count()), 5 * UNITS_PER_BCC);
        assert_eq!(message_fee("καλημέρα".chars().count()), 8 * UNITS_PER_BCC);
        assert_eq!(message_fee("🙂".chars().count()), UNITS_PER_BCC);
    }

    #[test]
    fn parse_and_format_table() {
        for (text, units) in [
            ("12", 12_000_000),
            ("12.5", 12_500_000),
            ("0.000001", 1),
            (".5", 500_000),
            ("7.", 7_000_000),
            (" 3 ", 3_000_000),
        ] {
            assert_eq!(parse_bcc(text), Ok(units), "{text}");
        }
        assert_eq!(format_bcc(12_500_000), "12.5");
        assert_eq!(format_bcc(1), "0.000001");
        assert_eq!(format_bcc(3_000_000), "3");
        for bad in ["", ".", "abc", "-1", "1e3", "1.2.3"] {
            assert!(matches!(parse_bcc(bad), Err(AmountError::NotANumber(_))), "{bad}");
        }
        assert!(matches!(parse_bcc("1.0000001"), Err(AmountError::TooPrecise(_))));
        assert!(matches!(parse_bcc("99999999999999999999"), Err(AmountError::TooLarge(_))));
        assert!(matches!(parse_bcc("18446744073710"), Err(AmountError::TooLarge(_))));
    }
}
