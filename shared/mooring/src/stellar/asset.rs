use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use stellar_xdr as xdr;

use super::AccountId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssetError {
    #[error("asset code must be 1 to 12 ASCII letters or digits")]
    InvalidCode,
    #[error("'{0}' is not an asset in the form native or CODE:ISSUER")]
    InvalidFormat(String),
    #[error(transparent)]
    InvalidIssuer(#[from] super::KeyError),
}

/// A Stellar asset, always identified by code AND issuer (or native XLM).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Asset {
    Native,
    Credit { code: String, issuer: AccountId },
}

impl Asset {
    pub fn credit(code: &str, issuer: AccountId) -> Result<Self, AssetError> {
        let valid =
            (1..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(AssetError::InvalidCode);
        }
        Ok(Asset::Credit {
            code: code.to_owned(),
            issuer,
        })
    }

    /// The code as SEPs show it (`native` for XLM).
    pub fn code(&self) -> &str {
        match self {
            Asset::Native => "native",
            Asset::Credit { code, .. } => code,
        }
    }

    pub fn issuer(&self) -> Option<&AccountId> {
        match self {
            Asset::Native => None,
            Asset::Credit { issuer, .. } => Some(issuer),
        }
    }

    /// Horizon's `asset_type`.
    pub fn horizon_type(&self) -> &'static str {
        match self {
            Asset::Native => "native",
            Asset::Credit { code, .. } if code.len() <= 4 => "credit_alphanum4",
            Asset::Credit { .. } => "credit_alphanum12",
        }
    }

    /// The SEP-38 identifier: `stellar:native` or `stellar:CODE:ISSUER`.
    pub fn sep38_id(&self) -> String {
        match self {
            Asset::Native => "stellar:native".to_owned(),
            Asset::Credit { code, issuer } => format!("stellar:{code}:{issuer}"),
        }
    }

    pub fn to_xdr(&self) -> xdr::Asset {
        match self {
            Asset::Native => xdr::Asset::Native,
            Asset::Credit { code, issuer } if code.len() <= 4 => {
                let mut bytes = [0u8; 4];
                bytes[..code.len()].copy_from_slice(code.as_bytes());
                xdr::Asset::CreditAlphanum4(xdr::AlphaNum4 {
                    asset_code: xdr::AssetCode4(bytes),
                    issuer: issuer.to_xdr(),
                })
            }
            Asset::Credit { code, issuer } => {
                let mut bytes = [0u8; 12];
                bytes[..code.len()].copy_from_slice(code.as_bytes());
                xdr::Asset::CreditAlphanum12(xdr::AlphaNum12 {
                    asset_code: xdr::AssetCode12(bytes),
                    issuer: issuer.to_xdr(),
                })
            }
        }
    }
}

impl FromStr for Asset {
    type Err = AssetError;

    /// `native` or `CODE:ISSUER` (Horizon's canonical form).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "native" {
            return Ok(Asset::Native);
        }
        let (code, issuer) = s
            .split_once(':')
            .ok_or_else(|| AssetError::InvalidFormat(s.chars().take(80).collect()))?;
        Asset::credit(code, issuer.parse()?)
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Asset::Native => f.write_str("native"),
            Asset::Credit { code, issuer } => write!(f, "{code}:{issuer}"),
        }
    }
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Asset({self})")
    }
}

impl Serialize for Asset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Asset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

    #[test]
    fn parses_and_classifies_assets() {
        let usdc: Asset = format!("USDC:{ISSUER}").parse().unwrap();
        assert_eq!(usdc.code(), "USDC");
        assert_eq!(usdc.horizon_type(), "credit_alphanum4");
        assert_eq!(usdc.to_string(), format!("USDC:{ISSUER}"));
        let long: Asset = format!("LONGCODE1:{ISSUER}").parse().unwrap();
        assert_eq!(long.horizon_type(), "credit_alphanum12");
        assert!(matches!(long.to_xdr(), xdr::Asset::CreditAlphanum12(_)));
        assert_eq!("native".parse::<Asset>().unwrap(), Asset::Native);
    }

    #[test]
    fn rejects_bad_assets() {
        for bad in [
            "USDC",
            "USDC:GBAD",
            &format!(":{ISSUER}"),
            &format!("TOOLONGCODE13:{ISSUER}"),
            &format!("US-D:{ISSUER}"),
        ] {
            assert!(bad.parse::<Asset>().is_err(), "{bad}");
        }
    }
}
