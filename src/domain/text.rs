//! Text a person typed that others will read as a name or a reference: trimmed, bounded,
//! and free of characters that make it display as something else. Refused: control
//! characters, bidirectional overrides, embeddings and isolates (U+202A–202E,
//! U+2066–2069, U+061C, U+200E/200F), and invisible format characters (zero-width space,
//! word joiner, BOM, soft hyphen, fillers, variation selectors, tags…). The zero-width
//! non-joiner and joiner (U+200C/200D) stay allowed *between two letters* only: Persian
//! and several Indic names need them there, and there they cannot hide a separator or
//! reorder text.

/// Why a text field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must be 1 to {max} characters")]
    Length { max: usize },
    #[error("must not contain control characters")]
    Control,
    #[error("must not contain direction overrides or invisible characters")]
    Invisible,
}

/// Bidirectional controls: they reorder what follows (a name that reads backwards).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Invisible format characters (Unicode Cf and fillers), except ZWNJ/ZWJ.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2065}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Trims `text` and checks it is 1..=`max` characters a reader sees as they are.
pub fn clean_text(text: &str, max: usize) -> Result<String, TextError> {
    let t = text.trim();
    let chars: Vec<char> = t.chars().collect();
    if chars.is_empty() || chars.len() > max {
        return Err(TextError::Length { max });
    }
    for (i, &c) in chars.iter().enumerate() {
        if c.is_control() {
            return Err(TextError::Control);
        }
        if is_bidi_control(c) || is_invisible(c) {
            return Err(TextError::Invisible);
        }
        if matches!(c, '\u{200C}' | '\u{200D}') {
            let letter = |j: Option<usize>| {
                j.and_then(|j| chars.get(j))
                    .is_some_and(|c| c.is_alphabetic())
            };
            if !(letter(i.checked_sub(1)) && letter(Some(i + 1))) {
                return Err(TextError::Invisible);
            }
        }
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_script_pass() {
        for name in [
            "Witness W",
            "محمد عبد الله",
            "王小明",
            "Пётр Ильич Чайковский",
            "فرزانه\u{200C}ها",
            "  Ana María  ",
        ] {
            assert_eq!(clean_text(name, 100), Ok(name.trim().to_owned()), "{name}");
        }
    }

    #[test]
    fn spoofing_characters_are_refused() {
        for bad in [
            "Alice\u{202E}ecilA",
            "\u{2067}Bob",
            "Carol\u{200B}",
            "Da\u{2060}ve",
            "\u{FEFF}Eve",
            "Mal\u{200D}",
            "\u{200C}Ma",
            "a \u{200C} b",
            "Tag\u{E0041}",
            "x\u{200F}y",
        ] {
            assert_eq!(clean_text(bad, 100), Err(TextError::Invisible), "{bad:?}");
        }
        assert_eq!(clean_text("a\nb", 100), Err(TextError::Control));
        assert_eq!(clean_text("   ", 100), Err(TextError::Length { max: 100 }));
        assert_eq!(
            clean_text(&"x".repeat(101), 100),
            Err(TextError::Length { max: 100 })
        );
    }
}
