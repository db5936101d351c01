//! The fixed phrases of the minutes in the six UN languages (`ar en es fr ru zh`), chosen
//! by the hearing's language (`hearing_opened.language`; absent or anything else: English).
//!
//! Owns the phrase tables and the few rules that place a value from the log inside a
//! phrase (templates with positional `{0}`, `{1}`… so each language keeps its own word
//! order; bidirectional isolation; language tags on quoted texts). It must never translate
//! what the log holds: names, ids, labels, grounds, reasons and the texts participants
//! read or signed are quoted exactly as logged. Only the fixed vocabularies the server
//! itself writes (roles, leave and refusal reasons, device results, statement kinds…)
//! are named in the table's language, through [`MinutesText::terms`].
//!
//! The translations other than English are the project's own, in a formal legal
//! register; they have NOT yet been reviewed by legal translators.

mod ar;
mod en;
mod es;
mod fr;
mod ru;
mod zh;

use super::minutes::esc;

macro_rules! phrase_table {
    ($($(#[$m:meta])* $name:ident,)*) => {
        /// One language's phrases. Templates take positional arguments (`{0}`…), already
        /// HTML-escaped by the caller; the doc of each field says what they are.
        #[non_exhaustive]
        pub struct MinutesText {
            /// BCP 47 code put in `<html lang>`.
            pub lang: &'static str,
            /// Written right to left (`<html dir="rtl">`).
            pub rtl: bool,
            $($(#[$m])* pub $name: &'static str,)*
            /// Names of the codes in [`TERM_CODES`] (empty for English, whose minutes show
            /// those codes as logged).
            pub terms: &'static [(&'static str, &'static str)],
        }

        impl MinutesText {
            /// Every phrase of the table with its field name, in declaration order.
            pub fn phrases(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($name), self.$name)),*]
            }
        }
    };
}

phrase_table! {
    /// `<title>`: {0} hearing id.
    title,
    /// The `<h1>`.
    heading,
    /// Row heads of the case table.
    row_hearing,
    row_case_ref,
    row_mla_ref,
    row_requesting_state,
    row_requested_state,
    row_language,
    /// The language row's value: {0} code, {1} name in this table's language.
    language_value,
    row_opened,
    row_time_stamps,
    /// Where the time-stamps come from.
    stamps_external,
    stamps_builtin,
    row_requesting_authority,
    row_its_reference,
    row_requested_authority,
    row_request_date,
    row_closed,
    /// The persons' table.
    persons,
    col_id,
    col_function,
    col_name,
    col_events,
    /// A person's events; {0} the new name, the refusal reason, the leave reason.
    ev_joined,
    ev_admitted,
    ev_denied,
    ev_renamed,
    ev_join_refused,
    ev_device_approved,
    ev_removed,
    ev_left,
    ev_key_bound,
    /// {0} whose identity, {1} the judge.
    identity_confirmed,
    /// {0} whose identity, {1} by whom, {2} how.
    identity_attested,
    /// {0} who; the `_in` forms: {1} the language of the signed text.
    oath,
    oath_in,
    affirmation,
    affirmation_in,
    /// A form other than oath or affirmation: {0} who, {1} the form as logged, {2} the
    /// language of the signed text.
    oath_other,
    oath_other_in,
    /// {0} who, {1} the statement's kind.
    attestation,
    /// {0} whose media, {1} from, {2} to, {3} why (as logged).
    gap,
    /// {0} whose recording, {1} the detail as logged.
    degraded,
    /// {0} whose devices, {1} camera, {2} microphone, {3} speaker, {4} round trip,
    /// {5} bitrate.
    device_check,
    not_measured,
    /// {0} a number.
    milliseconds,
    kbit_per_s,
    /// {0} why; `_unsealed`: {1} how many recordings were sealed on restart.
    server_stopped,
    server_stopped_unsealed,
    /// {0} first, {1} last entry.
    recovered,
    /// {0} the node lost, {1} the node the hearing resumed on, {2} entries restored.
    node_lost,
    /// {0} whose microphone.
    muted,
    unmuted,
    /// {0} by whom.
    locked,
    unlocked,
    /// {0} by whom, {1} the reason as logged.
    recess_started,
    recess_ended,
    /// {0} the judge, {1} the clerk.
    delegated,
    delegation_ended,
    /// {0} number, {1} who, {2} stream id.
    exhibit_shown,
    exhibit_hidden,
    /// {0} channel number, {1} the interpreter, {2} the language's name, {3} stream id.
    interp_started,
    interp_stopped,
    /// {0} the language's name, {1} the stream its listeners hear from now on.
    interp_on_air,
    /// {0} the language's name: its last channel stopped.
    interp_off_air,
    /// {0} by whom, {1} asked by whom, {2} the participants.
    consultation_opened,
    consultation_ended,
    /// {0} by whom, {1} whose video.
    video_stopped,
    video_allowed,
    /// {0} the judge, {1} the text's language code, {2} its name, {3} the text quoted.
    rights_read,
    /// {0} number, {1} who, {2} the ground quoted.
    privilege,
    objection,
    /// {0} number, {1} the judge, {2} the reason quoted.
    upheld,
    overruled,
    /// {0} the label, {1} who marked it.
    marker_by,
    /// {0} path, {1} length, {2} hex SHA-256.
    file,
    /// Section headings.
    s_identity,
    s_oaths,
    s_statements,
    s_conduct,
    s_rights,
    s_technical,
    s_markers,
    /// {0} the participant: the video sent to them stopped (their link), or resumed.
    audio_only_on,
    audio_only_off,
    /// The heading of the links' timeline, and the sentence under it.
    s_quality,
    quality_note,
    /// The classes of a link in the timeline's legend.
    q_good,
    q_fair,
    q_poor,
    q_unknown,
    s_files,
    /// An empty section.
    none_recorded,
    /// {0} number of entries, {1} hearing id.
    footer,
    /// Names of the six languages, as used after the language templates above.
    name_ar,
    name_en,
    name_es,
    name_fr,
    name_ru,
    name_zh,
}

/// The codes the server writes whose names the tables give (roles, leave and refusal
/// reasons, close reasons, device-check results, statement kinds, identity methods).
pub const TERM_CODES: &[&str] = &[
    "judge",
    "witness",
    "official",
    "interpreter",
    "prosecutor",
    "defence",
    "clerk",
    "counsel",
    "left",
    "disconnected",
    "connection_lost",
    "media_failed",
    "removed",
    "denied",
    "invite_revoked",
    "replaced",
    "hearing_closed",
    "server_shutdown",
    "server_stopped",
    "hearing_locked",
    "unrecognized_device",
    "device_refused",
    "closed_by_judge",
    "closed_before_interruption",
    "ok",
    "failed",
    "not_tested",
    "oath",
    "identity",
    "cosign",
    "closing",
    "minutes",
    "passport",
    "id_card",
    "document",
];

/// Every table, English first.
pub const ALL: [&MinutesText; 6] = [&en::EN, &ar::AR, &es::ES, &fr::FR, &ru::RU, &zh::ZH];

/// The table for a hearing language; English for `None` or anything not one of the six.
pub fn for_language(code: Option<&str>) -> &'static MinutesText {
    ALL.into_iter()
        .find(|t| Some(t.lang) == code)
        .unwrap_or(&en::EN)
}

/// Replaces `{0}`…`{9}` in `template` by `args` (already HTML); any other text, and a
/// placeholder with no argument, is kept as it is.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out =
        String::with_capacity(template.len() + args.iter().map(|a| a.len()).sum::<usize>());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let b = tail.as_bytes();
        let arg = (b.len() >= 3 && b[2] == b'}')
            .then(|| (b[1] as char).to_digit(10))
            .flatten()
            .and_then(|d| args.get(d as usize));
        match arg {
            Some(a) => {
                out.push_str(a);
                rest = &tail[3..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl MinutesText {
    /// A value from the log (id, name, label, time), escaped and isolated from the text
    /// around it with `<bdi>` wherever its direction could differ: in a right-to-left
    /// document, and for any value beyond ASCII. (ASCII alone cannot reorder inside a
    /// left-to-right document, and leaving it bare keeps older English minutes as they
    /// were.)
    pub fn value(&self, s: &str) -> String {
        if self.rtl || !s.is_ascii() {
            format!("<bdi>{}</bdi>", esc(s))
        } else {
            esc(s)
        }
    }

    /// A text someone read or signed, quoted exactly as logged (line breaks kept):
    /// tagged with its language when known and not the document's, its direction taken
    /// from its own content under the same rule as [`Self::value`].
    pub fn quote(&self, text: &str, lang: Option<&str>) -> String {
        let mut attrs = String::new();
        if let Some(l) = lang.filter(|l| *l != self.lang) {
            attrs.push_str(&format!(" lang=\"{}\"", esc(l)));
        }
        if self.rtl || !text.is_ascii() {
            attrs.push_str(" dir=\"auto\"");
        }
        format!("<q{attrs}>{}</q>", esc(text).replace('\n', "<br>"))
    }

    /// The name of one of the six language codes in this table's language.
    /// The words of the links' timeline (`quality_svg`) in this language.
    pub fn quality_words(&self) -> super::quality_svg::QualityWords<'static> {
        super::quality_svg::QualityWords {
            title: self.s_quality,
            good: self.q_good,
            fair: self.q_fair,
            poor: self.q_poor,
            unknown: self.q_unknown,
        }
    }

    pub fn language_name(&self, code: &str) -> Option<&'static str> {
        Some(match code {
            "ar" => self.name_ar,
            "en" => self.name_en,
            "es" => self.name_es,
            "fr" => self.name_fr,
            "ru" => self.name_ru,
            "zh" => self.name_zh,
            _ => return None,
        })
    }

    /// The name of a server code (see [`TERM_CODES`]) in this table's language; a code it
    /// does not name is shown as logged (`_` read as a space where `spaced`).
    pub fn term(&self, code: &str, spaced: bool) -> String {
        match self.terms.iter().find(|(c, _)| *c == code) {
            Some((_, name)) => (*name).to_owned(),
            None if spaced => self.value(&code.replace('_', " ")),
            None => self.value(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_places_arguments_by_position() {
        assert_eq!(fill("{1} before {0}", &["a", "b"]), "b before a");
        assert_eq!(fill("{0}..{1} {", &["1", "2"]), "1..2 {");
        assert_eq!(fill("{7} {x}", &["a"]), "{7} {x}");
    }

    #[test]
    fn the_hearing_language_picks_the_table() {
        assert_eq!(for_language(Some("fr")).lang, "fr");
        assert_eq!(for_language(Some("ar")).lang, "ar");
        for other in [
            None,
            Some("en"),
            Some("english language"),
            Some("fr-CH"),
            Some(""),
        ] {
            assert_eq!(for_language(other).lang, "en", "{other:?}");
        }
    }

    /// Words that are legitimately the same in a language and in English.
    const SAME_AS_ENGLISH: &[(&str, &str)] = &[
        ("es", "milliseconds"),
        ("es", "kbit_per_s"),
        ("fr", "milliseconds"),
        ("fr", "kbit_per_s"),
    ];

    #[test]
    fn every_table_fills_every_phrase() {
        let english = ALL[0].phrases();
        for t in ALL {
            assert!(t.rtl == (t.lang == "ar"), "{}", t.lang);
            for ((field, text), (_, en)) in t.phrases().into_iter().zip(&english) {
                assert!(!text.trim().is_empty(), "{} {field} is empty", t.lang);
                if t.lang != "en" && !SAME_AS_ENGLISH.contains(&(t.lang, field)) {
                    assert_ne!(text, *en, "{} {field} is still English", t.lang);
                }
                // No fact English shows is dropped; a language may name what English
                // shows by code (the language of a text).
                let holes = |s: &str| {
                    (0..10)
                        .filter(|d| s.contains(&format!("{{{d}}}")))
                        .collect::<Vec<_>>()
                };
                let (mine, theirs) = (holes(text), holes(en));
                match field {
                    "language_value" | "rights_read" => {
                        assert!(mine.iter().all(|d| *d < 4), "{} {field}", t.lang);
                        assert!(mine.len() >= theirs.len(), "{} {field}", t.lang);
                    }
                    _ => assert_eq!(mine, theirs, "{} {field}: placeholders", t.lang),
                }
                assert!(
                    !text.contains('<') && !text.contains('&'),
                    "{} {field}: markup",
                    t.lang
                );
            }
            if t.lang == "en" {
                assert!(t.terms.is_empty(), "English shows the codes as logged");
                continue;
            }
            let codes: Vec<&str> = t.terms.iter().map(|(c, _)| *c).collect();
            assert_eq!(codes, TERM_CODES, "{}: every code named, in order", t.lang);
            for (code, name) in t.terms {
                assert!(!name.trim().is_empty(), "{} {code}", t.lang);
                assert!(
                    !name.contains('<') && !name.contains('&'),
                    "{} {code}",
                    t.lang
                );
                if !(t.lang == "fr" && *code == "document") {
                    assert_ne!(
                        *name,
                        code.replace('_', " "),
                        "{} {code} untranslated",
                        t.lang
                    );
                }
            }
        }
    }

    #[test]
    fn values_are_isolated_where_direction_could_differ() {
        let (en, ar) = (for_language(None), for_language(Some("ar")));
        assert_eq!(en.value("p-1 <b>"), "p-1 &lt;b&gt;");
        assert_eq!(en.value("Ана"), "<bdi>Ана</bdi>");
        assert_eq!(ar.value("p-1"), "<bdi>p-1</bdi>");
        assert_eq!(en.quote("a\nb", None), "<q>a<br>b</q>");
        assert_eq!(
            en.quote("é", Some("fr")),
            "<q lang=\"fr\" dir=\"auto\">é</q>"
        );
        assert_eq!(ar.quote("x", Some("ar")), "<q dir=\"auto\">x</q>");
        assert_eq!(en.term("not_tested", true), "not tested");
        assert_eq!(
            for_language(Some("fr")).term("not_tested", true),
            "test non effectué"
        );
        assert_eq!(for_language(Some("fr")).term("new_code", false), "new_code");
    }
}
