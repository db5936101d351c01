//! The minutes are written in the hearing's language (#14 point 3): every fixed phrase
//! from that language's table, right to left for Arabic, while what people said, read or
//! signed is quoted exactly as logged, in its own language. A log without a language (or
//! with one that is not one of the six) gets the English minutes.
#![cfg(feature = "evidence")]

use sworn::evidence::minutes::render_minutes;
use sworn::evidence::minutes_text::{self, MinutesText};
use sworn::verify::entry::{self, Entry, EntryBody};

/// French rights text read to the witness (as a judge would read it), kept exactly.
const RIGHTS_FR: &str =
    "Vous pouvez refuser de témoigner\nsi votre réponse pouvait vous incriminer.";
const GROUND: &str = "A question that is leading";
const WITNESS_NAME: &str = "Amina Haddad (أمينة حداد)";

fn line(seq: u64, body: EntryBody) -> Vec<u8> {
    let e = Entry {
        v: entry::ENTRY_VERSION,
        hearing: "h-lang".into(),
        seq,
        time: format!(
            "2026-11-29T{:02}:{:02}:00.000Z",
            17 + (30 + seq) / 60,
            (30 + seq) % 60
        ),
        body,
    };
    let mut b = entry::encode(&e).unwrap();
    b.push(b'\n');
    b
}

/// A log with one entry of every kind the minutes render.
fn log(language: Option<&str>) -> Vec<u8> {
    let s = |v: &str| v.to_string();
    let bodies = vec![
        EntryBody::HearingOpened {
            case_ref: s("2026/CR/0042"),
            mla_ref: Some(s("MLA-2026-17")),
            requesting_state: Some(s("FR")),
            requested_state: Some(s("ES")),
            language: language.map(s),
            time_stamping: Some(s("builtin")),
            requesting_authority: Some(s("BEPI")),
            requesting_reference: Some(s("BEPI-118")),
            requested_authority: Some(s("MJ")),
            requested_reference: Some(s("MJ-77")),
            request_date: Some(s("2026-11-02")),
        },
        EntryBody::ParticipantInvited {
            participant: s("p-judge"),
            role: s("judge"),
            display_name: Some(s("Judge J")),
        },
        EntryBody::ParticipantInvited {
            participant: s("p-witness"),
            role: s("witness"),
            display_name: Some(s(WITNESS_NAME)),
        },
        EntryBody::ParticipantInvited {
            participant: s("p-off"),
            role: s("official"),
            display_name: None,
        },
        EntryBody::ParticipantJoined {
            participant: s("p-witness"),
        },
        EntryBody::JoinRefused {
            participant: s("p-witness"),
            reason: s("unrecognized_device"),
        },
        EntryBody::DeviceApproved {
            participant: s("p-witness"),
        },
        EntryBody::DeviceCheck {
            participant: s("p-witness"),
            camera: s("ok"),
            microphone: s("failed"),
            speaker: s("not_tested"),
            rtt_ms: Some(42),
            bitrate_kbps: None,
        },
        EntryBody::ParticipantAdmitted {
            participant: s("p-witness"),
        },
        EntryBody::ParticipantDenied {
            participant: s("p-x"),
        },
        EntryBody::ParticipantRenamed {
            participant: s("p-witness"),
            display_name: s("A. Haddad"),
        },
        EntryBody::IdentityAttested {
            participant: s("p-witness"),
            by: s("p-off"),
            method: s("passport"),
        },
        EntryBody::IdentityAttested {
            participant: s("p-witness"),
            by: s("p-judge"),
            method: s("confirmed"),
        },
        EntryBody::RightsExplained {
            language: s("fr"),
            text: s(RIGHTS_FR),
            by: s("p-judge"),
        },
        // The oath's text was signed in English whatever the hearing's language.
        EntryBody::OathTaken {
            participant: s("p-witness"),
            form: s("oath"),
            language: Some(s("en")),
        },
        EntryBody::OathTaken {
            participant: s("p-off"),
            form: s("affirmation"),
            language: None,
        },
        EntryBody::Attestation {
            kind: s("closing"),
            participant: s("p-witness"),
            statement_sha256: "ab".repeat(32),
            signature: s("c2ln"),
        },
        EntryBody::PrivilegeClaimed {
            number: 1,
            by: s("p-witness"),
            ground: s(GROUND),
        },
        EntryBody::ObjectionRaised {
            number: 2,
            by: s("p-judge"),
            ground: s(GROUND),
        },
        EntryBody::Ruling {
            number: 1,
            upheld: true,
            reason: s(GROUND),
            by: s("p-judge"),
        },
        EntryBody::Ruling {
            number: 2,
            upheld: false,
            reason: s(GROUND),
            by: s("p-judge"),
        },
        EntryBody::HearingLocked {
            locked: true,
            by: s("p-judge"),
        },
        EntryBody::HearingLocked {
            locked: false,
            by: s("p-judge"),
        },
        EntryBody::Recess {
            started: true,
            reason: s("lunch"),
            by: s("p-judge"),
        },
        EntryBody::Recess {
            started: false,
            reason: s("back"),
            by: s("p-judge"),
        },
        EntryBody::Delegation {
            participant: s("p-clerk"),
            active: true,
            by: s("p-judge"),
        },
        EntryBody::Delegation {
            participant: s("p-clerk"),
            active: false,
            by: s("p-judge"),
        },
        EntryBody::Exhibit {
            number: 3,
            participant: s("p-witness"),
            stream: s("p-witness-x3"),
            started: true,
        },
        EntryBody::Exhibit {
            number: 3,
            participant: s("p-witness"),
            stream: s("p-witness-x3"),
            started: false,
        },
        EntryBody::Interpretation {
            number: 1,
            participant: s("p-interp"),
            stream: s("p-interp-i1"),
            language: s("fr"),
            started: true,
        },
        EntryBody::InterpretationOnAir {
            language: s("fr"),
            stream: Some(s("p-interp-i1")),
        },
        EntryBody::Interpretation {
            number: 1,
            participant: s("p-interp"),
            stream: s("p-interp-i1"),
            language: s("fr"),
            started: false,
        },
        EntryBody::InterpretationOnAir {
            language: s("fr"),
            stream: None,
        },
        EntryBody::Consultation {
            participants: vec![s("p-witness"), s("p-counsel")],
            started: true,
            asked_by: s("p-counsel"),
            by: s("p-judge"),
        },
        EntryBody::Consultation {
            participants: vec![s("p-witness"), s("p-counsel")],
            started: false,
            asked_by: s("p-counsel"),
            by: s("p-judge"),
        },
        EntryBody::VideoStopped {
            participant: s("p-witness"),
            stopped: true,
            by: s("p-judge"),
        },
        EntryBody::VideoStopped {
            participant: s("p-witness"),
            stopped: false,
            by: s("p-judge"),
        },
        EntryBody::Mute {
            participant: s("p-witness"),
            muted: true,
            by_court: true,
        },
        EntryBody::Mute {
            participant: s("p-witness"),
            muted: false,
            by_court: true,
        },
        EntryBody::Gap {
            participant: Some(s("p-witness")),
            track: None,
            wall_start: s("2026-11-29T17:31:00.000Z"),
            wall_end: s("2026-11-29T17:31:04.000Z"),
            reason: s("no media received"),
        },
        EntryBody::RecordingDegraded {
            participant: None,
            detail: s("encoder slow"),
        },
        EntryBody::ServerStopped {
            reason: s("SIGTERM"),
            unsealed: 0,
        },
        EntryBody::ServerStopped {
            reason: s("SIGTERM"),
            unsealed: 2,
        },
        EntryBody::RecoveredAfterInterruption {
            from_seq: 4,
            to_seq: 9,
            torn_bytes: 0,
        },
        EntryBody::Marker {
            label: s("witness shown the map"),
            by: Some(s("p-judge")),
        },
        EntryBody::FileSealed {
            file: s("p-witness/video.webm"),
            length: 1234,
            sha256: "cd".repeat(32),
        },
        EntryBody::ParticipantRemoved {
            participant: s("p-witness"),
        },
        EntryBody::ParticipantLeft {
            participant: s("p-witness"),
            reason: s("removed"),
        },
        EntryBody::HearingClosed {
            reason: s("closed_by_judge"),
        },
    ];
    bodies
        .into_iter()
        .enumerate()
        .flat_map(|(i, b)| line(i as u64, b))
        .collect()
}

fn table(lang: &str) -> &'static MinutesText {
    minutes_text::for_language(Some(lang))
}

/// The English words of the English table: its phrases cut at their placeholders, less
/// the words that are the same in every language (unit and standard names).
fn english_fragments() -> Vec<String> {
    const SAME_EVERYWHERE: &[&str] = &["ms", "kbit/s", "SHA-256", "(RFC 3161)", "microphone"];
    let mut out = Vec::new();
    for (_, phrase) in table("en").phrases() {
        let mut rest = phrase;
        let mut pieces = Vec::new();
        while let Some(i) = rest.find('{') {
            pieces.push(&rest[..i]);
            rest = rest.get(i + 3..).unwrap_or("");
        }
        pieces.push(rest);
        for p in pieces {
            let p = p.trim_matches(|c: char| c.is_whitespace() || ",;:".contains(c));
            if p.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 2
                && !SAME_EVERYWHERE.contains(&p)
            {
                out.push(p.to_owned());
            }
        }
    }
    out
}

fn assert_no_english(html: &str, lang: &str) {
    // Values from the log are English on purpose (ids, the ground, labels): look only at
    // what is left once they are taken out.
    let mut fixed = html.to_owned();
    for value in [
        GROUND,
        "witness shown the map",
        "no media received",
        "encoder slow",
        "lunch",
        "back",
    ] {
        fixed = fixed.replace(value, "");
    }
    for f in english_fragments() {
        // Whole words only: "id" must not match inside "p-witness-x3".
        let found = fixed.match_indices(f.as_str()).any(|(i, _)| {
            let before = fixed[..i].chars().next_back();
            let after = fixed[i + f.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '/')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '/')
        });
        assert!(!found, "{lang} minutes keep the English {f:?}:\n{html}");
    }
}

#[test]
fn french_minutes_are_in_french() {
    let html = render_minutes(&log(Some("fr"))).unwrap();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"fr\"><head>"),
        "{html}"
    );
    for needle in [
        "<title>Procès-verbal de l'audience h-lang</title>",
        "<h1>Procès-verbal d'une audition par vidéoconférence</h1>",
        "<tr><th>Référence de l'affaire</th><td>2026/CR/0042</td></tr>",
        "<tr><th>Langue</th><td>français (fr)</td></tr>",
        "<tr><th>Autorité centrale de l'État requérant</th><td>BEPI</td></tr>",
        "<tr><th>Clôture</th><td>2026-11-29T18:18:00.000Z (close par le juge)</td></tr>",
        "<h2>Personnes présentes et leurs fonctions</h2>",
        "<tr><th>identifiant</th><th>fonction</th><th>nom</th><th>événements</th></tr>",
        "<td>p-witness</td><td>témoin</td><td><bdi>Amina Haddad (أمينة حداد)</bdi></td>",
        "<td>p-off</td><td>représentant de l'État requis</td><td></td>",
        "2026-11-29T17:35:00.000Z une connexion a été écartée (appareil non reconnu)",
        "2026-11-29T17:40:00.000Z nom modifié en A. Haddad",
        "2026-11-29T18:17:00.000Z départ (exclusion)",
        "identité de p-witness attestée par p-off (passeport)",
        "identité de p-witness confirmée par le juge (p-judge)",
        "p-witness a prêté serment, en signant le texte en anglais",
        "p-interp commence l'interprétation en français sur le canal 1 (enregistrée comme flux p-interp-i1)",
        "désormais, les auditeurs en français entendent le flux p-interp-i1",
        "plus aucune interprétation en français",
        "p-off a fait une affirmation solennelle</li>",
        "p-witness a signé une déclaration (clôture)",
        "vérification des appareils de p-witness : caméra : conforme, microphone : en échec, haut-parleur : test non effectué, aller-retour : 42 ms, débit : non mesuré",
        "<h2>Droits du témoin, privilèges et objections</h2>",
        "n° 1 : p-witness a invoqué le droit de refuser de témoigner, au motif suivant : <q>A question that is leading</q>",
        "n° 2 rejeté par p-judge : <q>A question that is leading</q>",
        "suspension d'audience prononcée par p-judge : lunch (l'enregistrement s'est poursuivi)",
        "pièce 3 présentée par p-witness (enregistrée comme flux p-witness-x3)",
        "le serveur a été arrêté (SIGTERM) : connexions fermées, enregistrements scellés à l'exception de 2,",
        "witness shown the map (marqué par p-judge)",
        "p-witness/video.webm — 1234 octets — SHA-256 ",
        "<p>Établi à partir des entrées 0..49 du journal de preuve de l'audience h-lang.</p>",
    ] {
        assert!(html.contains(needle), "missing {needle:?}:\n{html}");
    }
    // The rights were read in French: quoted as read, in a French hearing no language tag.
    let quoted = format!(
        "p-judge a donné lecture au témoin de ses droits (en français) : <q dir=\"auto\">{}</q>",
        RIGHTS_FR.replace('\n', "<br>")
    );
    assert!(html.contains(&quoted), "missing {quoted:?}:\n{html}");
    assert!(!html.contains("dir=\"rtl\""));
    assert_no_english(&html, "fr");
}

#[test]
fn arabic_minutes_are_right_to_left_and_isolate_every_value() {
    let html = render_minutes(&log(Some("ar"))).unwrap();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"ar\" dir=\"rtl\"><head>"),
        "{html}"
    );
    for needle in [
        "<h1>محضر جلسة استماع عن طريق الاتصال المرئي</h1>",
        "<tr><th>مرجع القضية</th><td><bdi>2026/CR/0042</bdi></td></tr>",
        "<tr><th>اللغة</th><td>العربية (<bdi>ar</bdi>)</td></tr>",
        "<h2>الأشخاص الحاضرون وصفاتهم</h2>",
        "<td><bdi>p-witness</bdi></td><td>الشاهد</td><td><bdi>Amina Haddad (أمينة حداد)</bdi></td>",
        "أداء <bdi>p-witness</bdi> اليمين، مع توقيع نصها باللغة الإنكليزية",
        "فحص أجهزة <bdi>p-witness</bdi>: الكاميرا بحالة سليمة، الميكروفون بحالة عطل، مكبّر الصوت دون اختبار، زمن الذهاب والإياب 42 ملّي ثانية، معدّل البتات دون قياس",
        "<h2>حقوق الشاهد والامتيازات والاعتراضات</h2>",
        "رقم 1: تمسّك <bdi>p-witness</bdi> بالحق في الامتناع عن الشهادة، للسبب التالي: <q dir=\"auto\">A question that is leading</q>",
        "<bdi>p-witness/video.webm</bdi> — 1234 بايت — SHA-256 ",
    ] {
        assert!(html.contains(needle), "missing {needle:?}:\n{html}");
    }
    // The French rights text keeps its language and its own direction inside the
    // right-to-left page.
    let quoted = format!(
        "تلاوة <bdi>p-judge</bdi> على الشاهد حقوقه (باللغة الفرنسية): <q lang=\"fr\" dir=\"auto\">{}</q>",
        RIGHTS_FR.replace('\n', "<br>")
    );
    assert!(html.contains(&quoted), "missing {quoted:?}:\n{html}");
    // Every id in a table cell or a list item is isolated.
    assert!(!html.contains("<td>p-"), "{html}");
    assert!(!html.contains(" p-witness "), "{html}");
    assert_no_english(&html, "ar");
}

#[test]
fn chinese_minutes_are_in_chinese() {
    let html = render_minutes(&log(Some("zh"))).unwrap();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"zh\"><head>"),
        "{html}"
    );
    for needle in [
        "<h1>视频连线庭审笔录</h1>",
        "<tr><th>语言</th><td>中文（zh）</td></tr>",
        "<tr><th>标识</th><th>身份</th><th>姓名</th><th>事件</th></tr>",
        "p-witness 已宣誓，并签署了英文誓词文本",
        "p-off 已作郑重声明</li>",
        "第 3 号证物由 p-witness 展示（录制为流 p-witness-x3）",
        "第 1 项由 p-judge 予以支持：<q>A question that is leading</q>",
        "<h2>技术条件</h2>",
        "根据庭审 h-lang 的证据日志条目 0..49 生成。",
    ] {
        assert!(html.contains(needle), "missing {needle:?}:\n{html}");
    }
    let quoted = format!(
        "p-judge 向证人宣读了其权利（法文）：<q lang=\"fr\" dir=\"auto\">{}</q>",
        RIGHTS_FR.replace('\n', "<br>")
    );
    assert!(html.contains(&quoted), "missing {quoted:?}:\n{html}");
    assert_no_english(&html, "zh");
}

#[test]
fn spanish_and_russian_minutes_leave_no_english() {
    for (lang, heading) in [
        ("es", "<h1>Acta de una audiencia por videoconferencia</h1>"),
        (
            "ru",
            "<h1>Протокол судебного заседания в режиме видеоконференцсвязи</h1>",
        ),
    ] {
        let html = render_minutes(&log(Some(lang))).unwrap();
        assert!(html.contains(heading), "{html}");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")));
        assert_no_english(&html, lang);
    }
}

#[test]
fn a_log_without_one_of_the_six_languages_gets_english_minutes() {
    let english = render_minutes(&log(Some("en"))).unwrap();
    assert!(english.contains("<h1>Minutes of a hearing by video link</h1>"));
    assert!(english.contains("p-witness took the oath, signing its text in English"));
    assert!(english.contains("<tr><th>Language</th><td>en</td></tr>"));
    // The same log with no language, or one older logs may hold, reads the same but for
    // the language row.
    for other in [None, Some("english language"), Some("fr-CH")] {
        let html = render_minutes(&log(other)).unwrap();
        let shown = other.unwrap_or("–");
        assert_eq!(
            html.replace(
                &format!("<th>Language</th><td>{shown}</td>"),
                "<th>Language</th><td>en</td>"
            ),
            english,
            "{other:?}"
        );
    }
}

#[test]
fn the_english_fragments_are_found_in_english_minutes() {
    // The check above is only worth something if it finds English where there is some.
    let html = render_minutes(&log(None)).unwrap();
    let hits = english_fragments()
        .into_iter()
        .filter(|f| html.contains(f.as_str()))
        .count();
    assert!(
        hits > 60,
        "only {hits} English fragments found in English minutes"
    );
}
