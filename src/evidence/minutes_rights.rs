//! The minutes' section on the witness's rights: the statement of rights as read (in
//! full, in its language), each privilege claimed and objection raised with its ground,
//! and each ruling with its reason. Renders only what the entries say, HTML-escaped, in
//! the minutes' language; the texts people read or gave are quoted as logged, never
//! translated.

use super::minutes_text::{MinutesText, fill};
use crate::verify::entry::EntryBody;

/// The minutes line for a rights entry at time `t` (already escaped), or None.
pub(super) fn line(x: &MinutesText, t: &str, body: &EntryBody) -> Option<String> {
    let sentence = match body {
        EntryBody::RightsExplained { language, text, by } => fill(
            x.rights_read,
            &[
                &x.value(by),
                &x.value(language),
                x.language_name(language)
                    .map_or_else(|| x.value(language), str::to_owned)
                    .as_str(),
                &x.quote(text, Some(language)),
            ],
        ),
        EntryBody::PrivilegeClaimed { number, by, ground } => fill(
            x.privilege,
            &[&number.to_string(), &x.value(by), &x.quote(ground, None)],
        ),
        EntryBody::ObjectionRaised { number, by, ground } => fill(
            x.objection,
            &[&number.to_string(), &x.value(by), &x.quote(ground, None)],
        ),
        EntryBody::Ruling {
            number,
            upheld,
            reason,
            by,
        } => fill(
            if *upheld { x.upheld } else { x.overruled },
            &[&number.to_string(), &x.value(by), &x.quote(reason, None)],
        ),
        _ => return None,
    };
    Some(format!("{t}: {sentence}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::minutes_text::for_language;

    #[test]
    fn rulings_and_grounds_are_escaped() {
        let en = for_language(None);
        let l = line(
            en,
            "T",
            &EntryBody::Ruling {
                number: 2,
                upheld: false,
                reason: "<b>no</b>".into(),
                by: "p-j".into(),
            },
        );
        assert_eq!(
            l.as_deref(),
            Some("T: no. 2 overruled by p-j: <q>&lt;b&gt;no&lt;/b&gt;</q>")
        );
        assert_eq!(
            line(en, "T", &EntryBody::HearingClosed { reason: "x".into() }),
            None
        );
    }
}
