//! Mooring's checks of a submitted form, field by field ([`FieldKind`]), before the integration
//! sees the values. A failed check is a message for the field, in the user's language; nothing
//! is stored.

use std::collections::BTreeMap;

use super::messages::{fill, Messages};
use crate::config::TransferLimits;
use crate::http::body::Params;
use crate::integrations::{FieldKind, Form, FormField, FormValues};
use crate::stellar::{Amount, AmountError};

/// A field's value may be at most this long whatever its kind (a form is small).
const MAX_VALUE_CHARS: usize = crate::limits::MAX_PAGE_VALUE_CHARS;

/// Messages by field name.
pub type FieldErrors = BTreeMap<String, String>;

/// What is wrong with an amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountProblem {
    Invalid,
    TooManyDecimals(u8),
    NotPositive,
    BelowMin(Amount),
    AboveMax(Amount),
}

impl AmountProblem {
    pub fn message(&self, m: &Messages) -> String {
        match self {
            AmountProblem::Invalid => m.amount_invalid.to_owned(),
            AmountProblem::TooManyDecimals(decimals) => {
                fill(m.amount_decimals, &[("decimals", &decimals.to_string())])
            }
            AmountProblem::NotPositive => m.amount_positive.to_owned(),
            AmountProblem::BelowMin(min) => fill(m.amount_min, &[("min", &min.to_string())]),
            AmountProblem::AboveMax(max) => fill(m.amount_max, &[("max", &max.to_string())]),
        }
    }
}

/// An amount as typed: a positive decimal with at most `decimals` places (trailing zeros do not
/// count), within the direction's limits.
pub fn parse_amount(
    input: &str,
    decimals: u8,
    limits: Option<&TransferLimits>,
) -> Result<Amount, AmountProblem> {
    let input = input.trim();
    if let Some((_, fraction)) = input.split_once('.') {
        let places = fraction.trim_end_matches('0').len();
        if fraction.bytes().all(|b| b.is_ascii_digit()) && places > usize::from(decimals) {
            return Err(AmountProblem::TooManyDecimals(decimals));
        }
    }
    let max = limits.and_then(|l| l.max_amount);
    let amount = match input.parse::<Amount>() {
        Ok(amount) => amount,
        Err(AmountError::Negative) => return Err(AmountProblem::NotPositive),
        Err(AmountError::TooLarge(_)) => {
            return Err(max.map_or(AmountProblem::Invalid, AmountProblem::AboveMax))
        }
        Err(AmountError::Invalid(_)) => return Err(AmountProblem::Invalid),
    };
    if amount <= Amount::ZERO {
        return Err(AmountProblem::NotPositive);
    }
    if let Some(min) = limits.and_then(|l| l.min_amount) {
        if amount < min {
            return Err(AmountProblem::BelowMin(min));
        }
    }
    if let Some(max) = max {
        if amount > max {
            return Err(AmountProblem::AboveMax(max));
        }
    }
    Ok(amount)
}

/// Checks every field of `form` in `submitted`; the values (trimmed, normalised; optional empty
/// fields left out) or every field's problem. Amounts are checked by [`parse_amount`].
pub fn validate_form(
    form: &Form,
    submitted: &Params,
    decimals: u8,
    limits: Option<&TransferLimits>,
    m: &Messages,
) -> Result<FormValues, FieldErrors> {
    let mut values = FormValues::new();
    let mut errors = FieldErrors::new();
    for field in &form.fields {
        let raw = submitted
            .get(&field.name)
            .map(str::trim)
            .unwrap_or_default();
        if raw.is_empty() {
            if field.required {
                errors.insert(field.name.clone(), m.field_required.to_owned());
            }
            continue;
        }
        match check_field(field, raw, decimals, limits, m) {
            Ok(value) => {
                values.insert(field.name.clone(), value);
            }
            Err(message) => {
                errors.insert(field.name.clone(), message);
            }
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

fn check_field(
    field: &FormField,
    raw: &str,
    decimals: u8,
    limits: Option<&TransferLimits>,
    m: &Messages,
) -> Result<String, String> {
    if raw.chars().count() > MAX_VALUE_CHARS {
        return Err(fill(
            m.field_too_long,
            &[("max", &MAX_VALUE_CHARS.to_string())],
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(m.field_invalid_text.to_owned());
    }
    match &field.kind {
        FieldKind::Amount => parse_amount(raw, decimals, limits)
            .map(|amount| amount.to_string())
            .map_err(|problem| problem.message(m)),
        FieldKind::Text { max_len } => {
            if raw.chars().count() > *max_len {
                Err(fill(m.field_too_long, &[("max", &max_len.to_string())]))
            } else {
                Ok(raw.to_owned())
            }
        }
        FieldKind::Email => is_email(raw)
            .then(|| raw.to_owned())
            .ok_or_else(|| m.field_email.to_owned()),
        FieldKind::Phone => {
            let number: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
            is_e164(&number)
                .then_some(number)
                .ok_or_else(|| m.field_phone.to_owned())
        }
        FieldKind::Date => is_date(raw)
            .then(|| raw.to_owned())
            .ok_or_else(|| m.field_date.to_owned()),
        FieldKind::Choice(choices) => choices
            .iter()
            .any(|c| c.value == raw)
            .then(|| raw.to_owned())
            .ok_or_else(|| m.field_choice.to_owned()),
    }
}

/// `local@domain.tld`: one `@`, no spaces, a dotted domain, at most 254 characters.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    value.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && !value.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// E.164: `+`, a country code not starting with 0, at most 15 digits in all.
fn is_e164(value: &str) -> bool {
    let Some(digits) = value.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// `YYYY-MM-DD`, a real calendar date.
fn is_date(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = value.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::integrations::Choice;
    use crate::sep24::interactive::messages::messages;

    fn limits(min: &str, max: &str) -> TransferLimits {
        serde_json::from_str(&format!(r#"{{"min_amount":"{min}","max_amount":"{max}"}}"#))
            .expect("limits")
    }

    #[test]
    fn amounts_respect_decimals_and_limits() {
        let l = limits("1", "1000");
        let ok = |s: &str| parse_amount(s, 2, Some(&l)).map(|a| a.to_string());
        assert_eq!(ok("100"), Ok("100".into()));
        assert_eq!(ok(" 100.50 "), Ok("100.5".into()));
        assert_eq!(ok("100.500"), Ok("100.5".into()));
        assert_eq!(ok("1000"), Ok("1000".into()));
        assert_eq!(ok("1"), Ok("1".into()));
        assert_eq!(ok("100.123"), Err(AmountProblem::TooManyDecimals(2)));
        assert_eq!(ok("0.999"), Err(AmountProblem::TooManyDecimals(2)));
        assert_eq!(
            ok("0.99"),
            Err(AmountProblem::BelowMin(l.min_amount.unwrap()))
        );
        assert_eq!(
            ok("1000.01"),
            Err(AmountProblem::AboveMax(l.max_amount.unwrap()))
        );
        assert_eq!(
            ok("99999999999999999999"),
            Err(AmountProblem::AboveMax(l.max_amount.unwrap()))
        );
        assert_eq!(ok("0"), Err(AmountProblem::NotPositive));
        assert_eq!(ok("-5"), Err(AmountProblem::NotPositive));
        for garbage in ["abc", "1e3", "1,5", ".5", "5.", "0x10", "1.2.3", "١٠٠"] {
            assert_eq!(ok(garbage), Err(AmountProblem::Invalid), "{garbage}");
        }
        assert_eq!(
            parse_amount("0.0000001", 7, None),
            Ok(Amount::from_stroops(1))
        );
    }

    #[test]
    fn each_kind_is_checked() {
        let form = Form {
            step: "kyc".into(),
            fields: vec![
                FormField::new("first_name", "First name", FieldKind::Text { max_len: 5 }),
                FormField::new("email_address", "Email", FieldKind::Email),
                FormField::new("mobile_number", "Phone", FieldKind::Phone),
                FormField::new("birth_date", "Birth date", FieldKind::Date),
                FormField::new(
                    "type",
                    "Type",
                    FieldKind::Choice(vec![Choice {
                        value: "SEPA".into(),
                        label: "SEPA".into(),
                    }]),
                ),
                FormField::new("note", "Note", FieldKind::Text { max_len: 10 }).optional(),
            ],
        };
        let m = messages(Lang::En);
        let params = |body: &str| Params::from_urlencoded(body.as_bytes()).expect("params");
        let values = validate_form(
            &form,
            &params("first_name=+Jane+&email_address=jane%40example.com&mobile_number=%2B1+415-555-0100&birth_date=2000-02-29&type=SEPA"),
            7,
            None,
            m,
        )
        .expect("valid");
        assert_eq!(values["first_name"], "Jane");
        assert_eq!(values["mobile_number"], "+14155550100");
        assert!(!values.contains_key("note"));

        let errors = validate_form(
            &form,
            &params("first_name=Janet+Doe&email_address=jane&mobile_number=4155550100&birth_date=2001-02-29&type=ACH&note=a%0Ab"),
            7,
            None,
            m,
        )
        .expect_err("invalid");
        assert_eq!(errors["first_name"], "At most 5 characters.");
        assert_eq!(errors["email_address"], m.field_email);
        assert_eq!(errors["mobile_number"], m.field_phone);
        assert_eq!(errors["birth_date"], m.field_date);
        assert_eq!(errors["type"], m.field_choice);
        assert_eq!(errors["note"], m.field_invalid_text);

        let missing = validate_form(&form, &params(""), 7, None, m).expect_err("missing");
        assert_eq!(missing.len(), 5);
        assert_eq!(missing["first_name"], m.field_required);
    }

    #[test]
    fn dates_emails_and_phones() {
        for good in ["2024-02-29", "1999-12-31", "2000-01-01"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "24-01-01",
            "2024/01/01",
            "2024-1-01",
            "+024-01-01",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        assert!(is_email("a.b+c@mail.example.org"));
        for bad in [
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "a@-b.com",
            "a@b..com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_e164("+34912345678"));
        for bad in [
            "34912345678",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+1a345678",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
