//! Languages of the user-facing text (SEP-24 `lang`, the interactive pages). The message
//! catalogue of the pages lives with them (`sep24::interactive::messages`); this module only
//! decides which language a request gets.

use std::fmt;

/// A language Mooring has a catalogue for. Requests name one with an RFC 4646 tag (`en`,
/// `en-US`, `es-AR`); anything else falls back to English, as SEP-24 asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The language for a `lang` parameter: its primary subtag, case-insensitive; unknown or
    /// absent → English.
    pub fn from_tag(tag: Option<&str>) -> Self {
        let primary = tag
            .unwrap_or_default()
            .split(['-', '_'])
            .next()
            .unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|lang| primary.eq_ignore_ascii_case(lang.code()))
            .unwrap_or_default()
    }

    /// The ISO 639-1 code (`<html lang>`, the `lang` kept on a transaction).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_resolve_by_primary_subtag_and_fall_back_to_english() {
        assert_eq!(Lang::from_tag(Some("es")), Lang::Es);
        assert_eq!(Lang::from_tag(Some("ES-ar")), Lang::Es);
        assert_eq!(Lang::from_tag(Some("en-US")), Lang::En);
        assert_eq!(Lang::from_tag(Some("fr")), Lang::En);
        assert_eq!(Lang::from_tag(Some("")), Lang::En);
        assert_eq!(Lang::from_tag(None), Lang::En);
    }
}
