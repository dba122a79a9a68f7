//! SEP-9 standard KYC fields (v1.17, with v1.18's additions): every name, its type, a
//! description, its choices, and checks of the values whose format SEP-9 fixes.
//!
//! Names are flat strings (`organization.name` is one name). The financial-account fields also
//! exist with the `organization.` prefix.
//!
//! Vocabulary below the SEPs: SEP-12, SEP-24 and the customer integration trait all read it.

use std::collections::BTreeMap;

use serde::Serialize;

/// The `type` of a SEP-12 field spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Binary,
    Number,
    Date,
}

/// One SEP-9 field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub field_type: FieldType,
    pub description: &'static str,
    /// Allowed values, when SEP-9 lists them.
    pub choices: &'static [&'static str],
}

const fn f(name: &'static str, field_type: FieldType, description: &'static str) -> Field {
    Field {
        name,
        field_type,
        description,
        choices: &[],
    }
}

const fn choice(
    name: &'static str,
    description: &'static str,
    choices: &'static [&'static str],
) -> Field {
    Field {
        name,
        field_type: FieldType::String,
        description,
        choices,
    }
}

use FieldType::{Binary, Date, Number, String as Text};

/// The natural-person and organization fields (financial fields are in [`FINANCIAL`]).
#[rustfmt::skip]
pub const FIELDS: &[Field] = &[
    f("family_name", Text, "Family or last name"),
    f("last_name", Text, "Family or last name"),
    f("given_name", Text, "Given or first name"),
    f("first_name", Text, "Given or first name"),
    f("additional_name", Text, "Middle name or other additional name"),
    f("address_country_code", Text, "Country code of the current address (ISO 3166-1 alpha-3)"),
    f("state_or_province", Text, "Name of state/province/region/prefecture"),
    f("city", Text, "Name of city/town"),
    f("postal_code", Text, "Postal or other code identifying the user's locale"),
    f("address", Text, "Entire address (country, state, postal code, street address, etc.) as a multi-line string"),
    f("mobile_number", Text, "Mobile phone number with country code, in E.164 format"),
    f("mobile_number_format", Text, "Expected format of the mobile_number field (E.164 by default, or e.g. hash)"),
    f("email_address", Text, "Email address"),
    f("birth_date", Date, "Date of birth (ISO 8601 date, e.g. 1976-07-04)"),
    f("birth_place", Text, "Place of birth (city, state, country, as on the passport)"),
    f("birth_country_code", Text, "Country of birth (ISO 3166-1 alpha-3)"),
    f("tax_id", Text, "Tax identifier of the user in their country (social security number in the US)"),
    f("tax_id_name", Text, "Name of the tax_id (SSN or ITIN in the US)"),
    f("occupation", Number, "Occupation ISCO-08 code"),
    f("employer_name", Text, "Name of the employer"),
    f("employer_address", Text, "Address of the employer"),
    f("id_type", Text, "Type of the identity document: passport, drivers_license, id_card, etc."),
    f("id_country_code", Text, "Country issuing the identity document (ISO 3166-1 alpha-3)"),
    f("id_issue_date", Date, "Issue date of the identity document (ISO 8601 date)"),
    f("id_expiration_date", Date, "Expiration date of the identity document (ISO 8601 date)"),
    f("id_number", Text, "Passport or identity document number"),
    f("photo_id_front", Binary, "Image of the front of the user's photo ID or passport"),
    f("photo_id_back", Binary, "Image of the back of the user's photo ID or passport"),
    f("notary_approval_of_photo_id", Binary, "Image of a notary's approval of the photo ID or passport"),
    f("photo_proof_residence", Binary, "Image of a utility bill or bank statement with the user's name and address"),
    f("proof_of_income", Binary, "Image of the user's proof of income document"),
    f("proof_of_liveness", Binary, "Video or image file of the user as liveness proof"),
    f("language_code", Text, "Primary language (ISO 639-1)"),
    f("ip_address", Text, "IP address of the customer's computer"),
    choice("sex", "Sex: male, female or other", &["male", "female", "other"]),
    f("referral_id", Text, "User's origin (such as an id in another application) or a referral code"),
    f("organization.name", Text, "Full organization name as on the incorporation papers"),
    f("organization.VAT_number", Text, "Organization VAT number"),
    f("organization.registration_number", Text, "Organization registration number"),
    f("organization.registration_date", Date, "Date the organization was registered (ISO 8601 date)"),
    f("organization.registered_address", Text, "Organization registered address"),
    f("organization.number_of_shareholders", Number, "Organization shareholder number"),
    f("organization.shareholder_name", Text, "Name of a shareholder (may be an organization or a person)"),
    f("organization.photo_incorporation_doc", Binary, "Image of the incorporation documents"),
    f("organization.photo_proof_address", Binary, "Image of a utility bill or bank statement with the organization's name and address"),
    f("organization.address_country_code", Text, "Country code of the organization's address (ISO 3166-1 alpha-3)"),
    f("organization.state_or_province", Text, "Name of the organization's state/province/region/prefecture"),
    f("organization.city", Text, "Name of the organization's city/town"),
    f("organization.postal_code", Text, "Organization postal code"),
    f("organization.director_name", Text, "Organization registered managing director"),
    f("organization.website", Text, "Organization website"),
    f("organization.email", Text, "Organization contact email"),
    f("organization.phone", Text, "Organization contact phone"),
    f("card.number", Text, "Card number"),
    f("card.expiration_date", Text, "Expiration month and year in YY-MM format (e.g. 29-11, November 2029)"),
    f("card.cvc", Text, "CVC number (digits on the back of the card)"),
    f("card.holder_name", Text, "Name of the card holder"),
    f("card.network", Text, "Brand of the card/network it operates within (e.g. Visa, Mastercard)"),
    f("card.postal_code", Text, "Billing address postal code"),
    f("card.country_code", Text, "Billing address country code (ISO 3166-1 alpha-2)"),
    f("card.state_or_province", Text, "Billing address state/province/region/prefecture (ISO 3166-2)"),
    f("card.city", Text, "Billing address city"),
    f("card.address", Text, "Entire billing address as a multi-line string"),
    f("card.token", Text, "Token representation of the card in an external payment system"),
];

/// Financial-account fields; each also exists as `organization.<name>`.
#[rustfmt::skip]
pub const FINANCIAL: &[Field] = &[
    f("bank_name", Text, "Name of the bank"),
    choice("bank_account_type", "Type of bank account: checking or savings", &["checking", "savings"]),
    f("bank_account_number", Text, "Number identifying the bank account"),
    f("bank_number", Text, "Number identifying the bank in the national banking system (routing number in the US)"),
    f("bank_phone_number", Text, "Phone number with country code for the bank"),
    f("bank_branch_number", Text, "Number identifying the bank branch"),
    f("external_transfer_memo", Text, "Destination tag/memo identifying a transaction"),
    f("clabe_number", Text, "Bank account number for Mexico"),
    f("cbu_number", Text, "Clave Bancaria Uniforme (CBU) or Clave Virtual Uniforme (CVU)"),
    f("cbu_alias", Text, "The alias for a CBU or CVU"),
    f("mobile_money_number", Text, "Mobile phone number in E.164 format with which a mobile money account is associated"),
    f("mobile_money_provider", Text, "Name of the mobile money service provider"),
    f("crypto_address", Text, "Address for a cryptocurrency account"),
    f("crypto_memo", Text, "A destination tag/memo identifying a transaction (deprecated: external_transfer_memo)"),
];

/// The SEP-9 field of this name (for `organization.<financial field>`, the financial field).
pub fn lookup(name: &str) -> Option<&'static Field> {
    let financial = |n: &str| FINANCIAL.iter().find(|field| field.name == n);
    FIELDS
        .iter()
        .find(|field| field.name == name)
        .or_else(|| financial(name))
        .or_else(|| name.strip_prefix("organization.").and_then(financial))
}

pub fn is_binary(name: &str) -> bool {
    lookup(name).is_some_and(|field| field.field_type == FieldType::Binary)
}

const ISO_3166_ALPHA3: &str =
    "ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE \
BDI BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK \
CHE CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA \
ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ \
GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM \
JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF \
MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL \
NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE \
PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK \
SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI \
URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE";

const ISO_3166_ALPHA2: &str =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH \
BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR \
GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR \
KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV \
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE \
RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL \
TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce \
ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he \
hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw \
ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj \
om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta \
te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

fn listed(list: &str, value: &str, len: usize) -> bool {
    value.len() == len && list.split_ascii_whitespace().any(|code| code == value)
}

/// `YYYY-MM-DD`, a real calendar date.
pub fn is_iso_date(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| {
        value[r.clone()]
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| value[r].parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// `+` and 7 to 15 digits, the first not 0 (ITU-T E.164).
pub fn is_e164(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && digits.bytes().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// A plausible mailbox: `local@domain.tld`, no spaces, within RFC 5321's lengths.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    value.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

fn digits(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len()) && value.bytes().all(|c| c.is_ascii_digit())
}

/// Checks the values of the fields whose format SEP-9 fixes; `Err` is a message for the client.
/// Binary fields (file ids) and free-text fields are not checked here.
pub fn validate(fields: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in fields {
        validate_one(name, value, fields)?;
    }
    Ok(())
}

fn validate_one(name: &str, value: &str, all: &BTreeMap<String, String>) -> Result<(), String> {
    let field = lookup(name).ok_or_else(|| format!("'{name}' is not a SEP-9 field"))?;
    if field.field_type == FieldType::Binary {
        return Ok(());
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!("{name} contains control characters"));
    }
    if !field.choices.is_empty() && !field.choices.contains(&value) {
        return Err(format!(
            "{name} must be one of: {}",
            field.choices.join(", ")
        ));
    }
    let ok = match name {
        "email_address" | "organization.email" => is_email(value),
        "mobile_number" => {
            // Another format may be announced with mobile_number_format (e.g. a hash).
            let format = all
                .get("mobile_number_format")
                .map(|f| f.to_ascii_lowercase());
            match format.as_deref() {
                None | Some("e.164" | "e164") => is_e164(value),
                Some(_) => true,
            }
        }
        "mobile_money_number" | "organization.mobile_money_number" => is_e164(value),
        "address_country_code"
        | "birth_country_code"
        | "id_country_code"
        | "organization.address_country_code" => listed(ISO_3166_ALPHA3, value, 3),
        "card.country_code" => listed(ISO_3166_ALPHA2, value, 2),
        "language_code" => listed(ISO_639_1, value, 2),
        "ip_address" => value.parse::<std::net::IpAddr>().is_ok(),
        "occupation" => digits(value, 1, 4),
        "organization.number_of_shareholders" => digits(value, 1, 9),
        "card.number" => digits(value, 12, 19),
        "card.cvc" => digits(value, 3, 4),
        "card.expiration_date" => {
            value.len() == 5
                && value.as_bytes()[2] == b'-'
                && digits(&value[..2], 2, 2)
                && value[3..]
                    .parse::<u8>()
                    .is_ok_and(|m| (1..=12).contains(&m))
                && digits(&value[3..], 2, 2)
        }
        _ if field.field_type == FieldType::Date => is_iso_date(value),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{name} is not valid: {}", expected(name, field)))
    }
}

fn expected(name: &str, field: &Field) -> &'static str {
    match name {
        "email_address" | "organization.email" => "expected an email address",
        "mobile_number" | "mobile_money_number" | "organization.mobile_money_number" => {
            "expected an E.164 phone number such as +14155550123"
        }
        "card.country_code" => "expected an ISO 3166-1 alpha-2 country code such as US",
        "language_code" => "expected an ISO 639-1 language code such as en",
        "ip_address" => "expected an IPv4 or IPv6 address",
        "occupation" => "expected an ISCO-08 occupation code (digits)",
        "card.expiration_date" => "expected YY-MM, e.g. 29-11",
        "card.number" | "card.cvc" | "organization.number_of_shareholders" => "expected digits",
        _ if field.field_type == FieldType::Date => "expected an ISO 8601 date such as 1976-07-04",
        _ => "expected an ISO 3166-1 alpha-3 country code such as USA",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, value: &str) -> Result<(), String> {
        validate(&BTreeMap::from([(name.to_owned(), value.to_owned())]))
    }

    #[test]
    fn knows_every_field_and_its_type() {
        assert_eq!(lookup("first_name").unwrap().field_type, FieldType::String);
        assert_eq!(lookup("birth_date").unwrap().field_type, FieldType::Date);
        assert_eq!(lookup("occupation").unwrap().field_type, FieldType::Number);
        assert!(is_binary("photo_id_front"));
        assert!(is_binary("organization.photo_incorporation_doc"));
        assert!(!is_binary("first_name"));
        assert_eq!(
            lookup("organization.bank_account_number").unwrap().name,
            "bank_account_number"
        );
        assert_eq!(lookup("sex").unwrap().choices, ["male", "female", "other"]);
        for unknown in [
            "favourite_colour",
            "organization.first_name",
            "card.bank_name",
            "",
        ] {
            assert!(lookup(unknown).is_none(), "{unknown}");
        }
        let mut names: Vec<&str> = FIELDS.iter().chain(FINANCIAL).map(|f| f.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a field is listed twice");
    }

    #[test]
    fn accepts_well_formed_values() {
        for (name, value) in [
            ("email_address", "jane.doe+kyc@example.co.uk"),
            ("mobile_number", "+14155550123"),
            ("birth_date", "1976-07-04"),
            ("id_expiration_date", "2028-02-29"),
            ("address_country_code", "USA"),
            ("card.country_code", "US"),
            ("language_code", "pt"),
            ("sex", "other"),
            ("bank_account_type", "savings"),
            ("organization.bank_account_type", "checking"),
            ("ip_address", "2001:db8::1"),
            ("occupation", "2511"),
            ("card.expiration_date", "29-11"),
            ("address", "1 Main St\nSpringfield"),
            ("first_name", "Zoë"),
        ] {
            assert_eq!(check(name, value), Ok(()), "{name}={value}");
        }
        // Another phone format announced: not E.164-checked.
        let hashed = BTreeMap::from([
            ("mobile_number".to_owned(), "ab12cd".to_owned()),
            ("mobile_number_format".to_owned(), "hash".to_owned()),
        ]);
        assert_eq!(validate(&hashed), Ok(()));
    }

    #[test]
    fn refuses_malformed_values_with_clear_messages() {
        for (name, value, message) in [
            (
                "email_address",
                "not-an-email",
                "email_address is not valid: expected an email address",
            ),
            ("email_address", "a@b", "expected an email address"),
            (
                "email_address",
                "a b@example.com",
                "expected an email address",
            ),
            ("mobile_number", "4155550123", "E.164"),
            ("mobile_number", "+0123456789", "E.164"),
            ("birth_date", "1976-02-30", "ISO 8601 date"),
            ("birth_date", "04/07/1976", "ISO 8601 date"),
            ("address_country_code", "US", "alpha-3"),
            ("address_country_code", "XYZ", "alpha-3"),
            ("address_country_code", "usa", "alpha-3"),
            ("card.country_code", "USA", "alpha-2"),
            ("language_code", "english", "ISO 639-1"),
            ("sex", "M", "sex must be one of: male, female, other"),
            ("bank_account_type", "current", "checking, savings"),
            ("ip_address", "999.1.1.1", "IPv4"),
            ("occupation", "programmer", "ISCO-08"),
            ("card.expiration_date", "29-13", "YY-MM"),
            ("first_name", "a\u{0}b", "control characters"),
            (
                "favourite_colour",
                "blue",
                "'favourite_colour' is not a SEP-9 field",
            ),
        ] {
            let error = check(name, value).unwrap_err();
            assert!(error.contains(message), "{name}={value}: {error}");
        }
    }
}
