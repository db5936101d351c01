//! The minutes' section on the witness's rights: the statement of rights as read (in
//! full, in its language), each privilege claimed and objection raised with its ground,
//! and each ruling with its reason. Renders only what the entries say, HTML-escaped.

use super::minutes::esc;
use crate::verify::entry::EntryBody;

/// The minutes line for a rights entry at time `t` (already escaped), or None.
pub(super) fn line(t: &str, body: &EntryBody) -> Option<String> {
    Some(match body {
        EntryBody::RightsExplained { language, text, by } => format!(
            "{t}: {} read the witness their rights (in {}): <q>{}</q>",
            esc(by),
            esc(language),
            esc(text).replace('\n', "<br>")
        ),
        EntryBody::PrivilegeClaimed { number, by, ground } => format!(
            "{t}: no. {number}: {} claimed a privilege to refuse to testify, on the ground: <q>{}</q>",
            esc(by),
            esc(ground)
        ),
        EntryBody::ObjectionRaised { number, by, ground } => format!(
            "{t}: no. {number}: {} objected, on the ground: <q>{}</q>",
            esc(by),
            esc(ground)
        ),
        EntryBody::Ruling {
            number,
            upheld,
            reason,
            by,
        } => format!(
            "{t}: no. {number} {} by {}: <q>{}</q>",
            if *upheld { "upheld" } else { "overruled" },
            esc(by),
            esc(reason)
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rulings_and_grounds_are_escaped() {
        let l = line(
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
            line("T", &EntryBody::HearingClosed { reason: "x".into() }),
            None
        );
    }
}
