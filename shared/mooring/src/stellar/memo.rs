use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use stellar_xdr as xdr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoError {
    #[error("memo_type must be one of text, id or hash")]
    UnknownType,
    #[error("an id memo must be a decimal unsigned 64-bit integer")]
    InvalidId,
    #[error("a text memo must be at most 28 bytes")]
    TextTooLong,
    #[error("a hash memo must be the base64 encoding of 32 bytes")]
    InvalidHash,
    #[error("memo_type was given without a memo")]
    MissingValue,
}

/// A transaction memo as the SEP APIs carry it: a `memo_type` (`text`, `id`, `hash`) and a string.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub enum Memo {
    #[default]
    None,
    Id(u64),
    Text(String),
    Hash([u8; 32]),
}

impl Memo {
    /// Parses an id memo: a canonical decimal uint64 (no sign, no leading zeros, no spaces).
    pub fn parse_id(value: &str) -> Result<u64, MemoError> {
        let canonical = !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit())
            && (value == "0" || !value.starts_with('0'));
        if !canonical {
            return Err(MemoError::InvalidId);
        }
        value.parse().map_err(|_| MemoError::InvalidId)
    }

    /// Parses the pair a SEP request carries. Both absent is no memo.
    pub fn from_sep(memo_type: Option<&str>, memo: Option<&str>) -> Result<Self, MemoError> {
        match (memo_type, memo) {
            (None, None) => Ok(Memo::None),
            (Some(_), None) => Err(MemoError::MissingValue),
            // SEP-6/24 assume an id memo when only the value is sent.
            (None, Some(value)) => Self::from_sep(Some("id"), Some(value)),
            (Some("id"), Some(value)) => Self::parse_id(value).map(Memo::Id),
            (Some("text"), Some(value)) if value.len() <= 28 => Ok(Memo::Text(value.to_owned())),
            (Some("text"), Some(_)) => Err(MemoError::TextTooLong),
            (Some("hash"), Some(value)) => {
                let bytes = BASE64.decode(value).map_err(|_| MemoError::InvalidHash)?;
                bytes
                    .try_into()
                    .map(Memo::Hash)
                    .map_err(|_| MemoError::InvalidHash)
            }
            (Some(_), Some(_)) => Err(MemoError::UnknownType),
        }
    }

    /// The `memo_type` string of the SEP APIs (`none` for no memo).
    pub fn type_name(&self) -> &'static str {
        match self {
            Memo::None => "none",
            Memo::Id(_) => "id",
            Memo::Text(_) => "text",
            Memo::Hash(_) => "hash",
        }
    }

    /// The `memo` string of the SEP APIs: decimal id, the text, or base64 of the hash.
    pub fn value(&self) -> Option<String> {
        match self {
            Memo::None => None,
            Memo::Id(id) => Some(id.to_string()),
            Memo::Text(text) => Some(text.clone()),
            Memo::Hash(hash) => Some(BASE64.encode(hash)),
        }
    }

    pub fn to_xdr(&self) -> xdr::Memo {
        match self {
            Memo::None => xdr::Memo::None,
            Memo::Id(id) => xdr::Memo::Id(*id),
            // Length was checked when the memo was parsed.
            Memo::Text(text) => {
                xdr::Memo::Text(text.as_bytes().to_vec().try_into().unwrap_or_default())
            }
            Memo::Hash(hash) => xdr::Memo::Hash(xdr::Hash(*hash)),
        }
    }
}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            None => f.write_str("Memo(none)"),
            Some(value) => write!(f, "Memo({}: {value})", self.type_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_memo_type() {
        assert_eq!(Memo::from_sep(None, None), Ok(Memo::None));
        assert_eq!(
            Memo::from_sep(Some("id"), Some("18446744073709551615")),
            Ok(Memo::Id(u64::MAX))
        );
        assert_eq!(Memo::from_sep(None, Some("42")), Ok(Memo::Id(42)));
        assert_eq!(
            Memo::from_sep(Some("text"), Some("hello")),
            Ok(Memo::Text("hello".into()))
        );
        let hash = BASE64.encode([3u8; 32]);
        assert_eq!(
            Memo::from_sep(Some("hash"), Some(&hash)),
            Ok(Memo::Hash([3u8; 32]))
        );
        assert_eq!(Memo::Hash([3u8; 32]).value(), Some(hash));
    }

    #[test]
    fn rejects_malformed_memos() {
        for id in [
            "",
            "-1",
            "+1",
            "01",
            "1.0",
            " 1",
            "18446744073709551616",
            "abc",
        ] {
            assert_eq!(
                Memo::from_sep(Some("id"), Some(id)),
                Err(MemoError::InvalidId),
                "{id:?}"
            );
        }
        assert_eq!(
            Memo::from_sep(Some("text"), Some(&"x".repeat(29))),
            Err(MemoError::TextTooLong)
        );
        assert_eq!(
            Memo::from_sep(Some("hash"), Some(&BASE64.encode([1u8; 31]))),
            Err(MemoError::InvalidHash)
        );
        assert_eq!(
            Memo::from_sep(Some("hash"), Some("%%%")),
            Err(MemoError::InvalidHash)
        );
        assert_eq!(
            Memo::from_sep(Some("return"), Some("x")),
            Err(MemoError::UnknownType)
        );
        assert_eq!(
            Memo::from_sep(Some("id"), None),
            Err(MemoError::MissingValue)
        );
    }

    #[test]
    fn converts_to_xdr() {
        assert_eq!(Memo::Id(7).to_xdr(), xdr::Memo::Id(7));
        assert_eq!(Memo::None.to_xdr(), xdr::Memo::None);
        let xdr::Memo::Text(text) = Memo::Text("abc".into()).to_xdr() else {
            panic!("expected a text memo")
        };
        assert_eq!(text.as_slice(), b"abc");
    }
}
