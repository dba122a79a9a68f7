//! The crate's floors, checked on its source: vocabulary sits below the SEPs that share it.
//!
//! - A SEP module (`sep1`, `sep10`, `sep12`, `sep24`, ...) never names a sibling SEP module; what
//!   two SEPs share (SEP-9 fields in `sep9`, body readers and limits in `http::body` and
//!   `http::multipart`) lives one floor down. The one exception is the authenticated SEP-10 user
//!   and its token ([`ALLOWED_FROM_SEP10`]), which every authenticated endpoint reads.
//! - `sep9` is vocabulary, not a SEP module: anyone may import it.
//! - The integration traits (`integrations/`) name no SEP module at all.
//!
//! A reference is any `crate::sepN` path (with `crate::{.., sepN, ..}` groups) or `super::sepN`
//! path outside comments. A failure names every offending line.

use std::path::{Path, PathBuf};

/// What any module may import from `sep10`: the authenticated user and its token.
const ALLOWED_FROM_SEP10: [&str; 4] = ["WebAuthUser", "Claims", "JwtKeys", "JwtError"];

/// Modules named like a SEP that are shared vocabulary, importable from anywhere.
const VOCABULARY: [&str; 1] = ["sep9"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The SEP module a file belongs to (`src/sep24/...` or `src/sep1.rs`), if any.
fn owning_sep(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    is_sep_module(name).then(|| name.to_owned())
}

fn is_sep_module(name: &str) -> bool {
    name.strip_prefix("sep")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && !VOCABULARY.contains(&name)
}

/// A reference to a SEP module: its name and the names imported from it (`None` when the path
/// names the module itself or something that cannot be read as names).
#[derive(Debug)]
struct Reference {
    line: usize,
    module: String,
    names: Option<Vec<String>>,
}

/// Source without comments, string and character literals (each becomes spaces; newlines are
/// kept, so line numbers stay right).
fn strip_comments(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let identifier_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            i += 2;
        } else if c == 'r' && !identifier_before && matches!(next, Some('"' | '#')) {
            // A raw string: r"..", r#".."#, ...
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += hashes + 2;
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < chars.len() && !chars[i..].starts_with(&close) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            i += close.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&c) = chars.get(i) {
                    blank(&mut out, c);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{..}'
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_at(text: &str, at: usize) -> &str {
    let end = text[at..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(text.len(), |n| at + n);
    &text[at..end]
}

/// The text of the `{...}` group starting at `open` (balanced).
fn group_at(text: &str, open: usize) -> &str {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    &text[open + 1..]
}

fn names_in(group: &str) -> Vec<String> {
    group
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn references(source: &str) -> Vec<Reference> {
    let text = strip_comments(source);
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    for prefix in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(n) = text[from..].find(prefix) {
            let start = from + n;
            from = start + prefix.len();
            if text[..start].ends_with("super::") {
                // The rest of a `super::super::..` chain, read from its first `super::`.
                continue;
            }
            // `super::super::sepN`: skip to the last `super::`.
            let mut at = from;
            while text[at..].starts_with("super::") {
                at += "super::".len();
            }
            if text[at..].starts_with('{') {
                // `crate::{a, sep12, ..}`: every SEP module named in the group.
                for word in names_in(group_at(&text, at)) {
                    if is_sep_module(&word) {
                        found.push(Reference {
                            line: line_of(start),
                            module: word,
                            names: None,
                        });
                    }
                }
                continue;
            }
            let module = ident_at(&text, at);
            if !is_sep_module(module) {
                continue;
            }
            let after = at + module.len();
            let names = if let Some(rest) = text[after..].strip_prefix("::") {
                let inner = after + 2;
                if rest.starts_with('{') {
                    Some(names_in(group_at(&text, inner)))
                } else {
                    Some(vec![ident_at(&text, inner).to_owned()])
                }
            } else {
                None
            };
            found.push(Reference {
                line: line_of(start),
                module: module.to_owned(),
                names,
            });
        }
    }
    found
}

fn allowed(reference: &Reference) -> bool {
    reference.module == "sep10"
        && reference.names.as_ref().is_some_and(|names| {
            names
                .iter()
                .all(|n| ALLOWED_FROM_SEP10.contains(&n.as_str()))
        })
}

/// Every line breaking the rules, as `path:line: why`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        let source = std::fs::read_to_string(&file).expect("readable source");
        let lines: Vec<&str> = source.lines().collect();
        let own = owning_sep(relative);
        let in_integrations = relative.starts_with("integrations");
        for reference in references(&source) {
            if own.as_deref() == Some(reference.module.as_str()) {
                continue;
            }
            let why = if in_integrations {
                "the integration traits import no SEP module"
            } else if allowed(&reference) {
                continue;
            } else if own.is_some() {
                "a SEP module never imports a sibling SEP module (move shared vocabulary one floor down)"
            } else {
                "a module below the SEPs imports no SEP module (only the SEP-10 user is shared)"
            };
            out.push(format!(
                "src/{}:{}: `{}` names `{}`: {why}",
                relative.display(),
                reference.line,
                lines.get(reference.line - 1).map_or("", |l| l.trim()),
                reference.module,
            ));
        }
    }
    out
}

#[test]
fn no_sep_module_imports_a_sibling_and_the_integration_traits_import_none() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports across the crate's floors:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_every_form_of_reference() {
    let source = "use crate::sep12::sep9::{self, FieldType};\n\
                  use crate::{http, sep24};\n\
                  // use crate::sep12::ignored;\n\
                  fn f() { super::super::sep1::StellarToml::x(); }\n\
                  use crate::sep10::{\n    Claims,\n    WebAuthUser,\n};\n\
                  use crate::sep10::routes;\n\
                  use crate::sep9::lookup;\n\
                  const S: &str = \"crate::sep24 in a string // not a comment\";\n\
                  const C: char = '\"'; use crate::sep12::after_a_char;\n\
                  const R: &str = r#\"crate::sep12 \" \"#; use crate::sep1::after_raw;\n";
    let found = references(source);
    let summary: Vec<(usize, &str, bool)> = found
        .iter()
        .map(|r| (r.line, r.module.as_str(), allowed(r)))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "sep12", false),
            (2, "sep24", false),
            (5, "sep10", true),
            (9, "sep10", false),
            (12, "sep12", false),
            (13, "sep1", false),
            (4, "sep1", false),
        ]
    );
}
