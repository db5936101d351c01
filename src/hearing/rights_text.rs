//! The statement of the witness's rights the court reads before the testimony, in
//! English, French or Spanish (Model Treaty on Mutual Assistance, art. 11 and 12;
//! GA res. 53/112, annex I, art. 11 footnote on perjury by video link). The text is sent
//! to every page and logged (`rights_explained`) exactly as returned here: it must never
//! be assembled from anything a participant typed.

/// The languages a statement of rights exists in.
pub const LANGUAGES: [&str; 3] = ["en", "fr", "es"];

/// The language used for `requested` (a tag like `fr-CH`): its primary subtag when a
/// text exists for it, else English.
pub fn language(requested: &str) -> &'static str {
    let primary = requested
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    LANGUAGES
        .into_iter()
        .find(|l| *l == primary)
        .unwrap_or("en")
}

/// The statement of rights in `lang` (one of [`LANGUAGES`]; anything else gives English).
pub fn text(lang: &str) -> &'static str {
    match language(lang) {
        "fr" => FR,
        "es" => ES,
        _ => EN,
    }
}

const EN: &str = "Before you give evidence, the court informs you of your rights.\n\
1. You may refuse to give evidence, or to answer a particular question, where the law of the requested State (where you are) or the law of the requesting State (where the court sits) permits or requires you to refuse in similar circumstances, for example because of a family relationship with the accused or a professional secret.\n\
2. You are not obliged to answer a question if your answer could expose you, or a close relative, to criminal prosecution.\n\
3. To rely on one of these rights, say so to the court or use the \"claim a privilege\" form, and give the ground in your own words; the judge will decide and tell you the decision.\n\
4. You have the right to a competent interpreter, free of charge, if you do not fully understand or speak the language of the hearing.\n\
5. You have the right to be assisted by a lawyer of your choice during your testimony.\n\
6. You must tell the truth. Giving false evidence by video link is a criminal offence punishable as perjury under the law of the requested State and of the requesting State.\n\
This hearing is recorded.";

const FR: &str = "Avant votre déposition, le tribunal vous informe de vos droits.\n\
1. Vous pouvez refuser de témoigner, ou de répondre à une question particulière, lorsque la loi de l'État requis (où vous vous trouvez) ou celle de l'État requérant (où siège le tribunal) vous permet ou vous impose de refuser dans des circonstances analogues, par exemple en raison d'un lien familial avec la personne poursuivie ou d'un secret professionnel.\n\
2. Vous n'êtes pas tenu de répondre à une question si votre réponse pouvait vous exposer, ou exposer un proche, à des poursuites pénales.\n\
3. Pour invoquer l'un de ces droits, dites-le au tribunal ou utilisez le formulaire « invoquer un privilège », en indiquant le motif avec vos propres mots ; le juge statue et vous fait connaître sa décision.\n\
4. Vous avez droit à l'assistance gratuite d'un interprète compétent si vous ne comprenez pas ou ne parlez pas parfaitement la langue de l'audience.\n\
5. Vous avez le droit d'être assisté par l'avocat de votre choix pendant votre déposition.\n\
6. Vous devez dire la vérité. Un faux témoignage par vidéoconférence est une infraction pénale punie comme un parjure par la loi de l'État requis et de l'État requérant.\n\
Cette audience est enregistrée.";

const ES: &str = "Antes de su declaración, el tribunal le informa de sus derechos.\n\
1. Puede negarse a declarar, o a responder a una pregunta concreta, cuando la ley del Estado requerido (donde usted se encuentra) o la del Estado requirente (donde tiene su sede el tribunal) le permita o le obligue a negarse en circunstancias análogas, por ejemplo por su parentesco con el acusado o por secreto profesional.\n\
2. No está obligado a responder a una pregunta si su respuesta pudiera exponerle a usted, o a un familiar cercano, a un proceso penal.\n\
3. Para invocar uno de estos derechos, dígalo al tribunal o utilice el formulario «invocar una dispensa», indicando el motivo con sus propias palabras; el juez resolverá y le comunicará su decisión.\n\
4. Tiene derecho a la asistencia gratuita de un intérprete competente si no comprende o no habla perfectamente el idioma de la audiencia.\n\
5. Tiene derecho a ser asistido por el abogado de su elección durante su declaración.\n\
6. Debe decir la verdad. El falso testimonio por videoconferencia es un delito castigado como perjurio por la ley del Estado requerido y del Estado requirente.\n\
Esta audiencia se graba.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_states_every_right() {
        for (lang, needles) in [
            (
                "en",
                [
                    "refuse to give evidence",
                    "criminal prosecution",
                    "interpreter",
                    "lawyer",
                    "perjury",
                ],
            ),
            (
                "fr",
                [
                    "refuser de témoigner",
                    "poursuites pénales",
                    "interprète",
                    "avocat",
                    "parjure",
                ],
            ),
            (
                "es",
                [
                    "negarse a declarar",
                    "proceso penal",
                    "intérprete",
                    "abogado",
                    "perjurio",
                ],
            ),
        ] {
            for n in needles {
                assert!(text(lang).contains(n), "{lang}: {n}");
            }
            // One item a line, each clean enough to pass the rule for any text shown.
            assert_eq!(text(lang).lines().count(), 8, "{lang}");
            for line in text(lang).lines() {
                assert!(
                    crate::domain::text::clean_text(line, 1000).is_ok(),
                    "{line}"
                );
            }
        }
        assert_eq!(language("fr-CH"), "fr");
        assert_eq!(language("ES"), "es");
        assert_eq!(language("xx"), "en");
        assert_eq!(text("de"), EN);
    }
}
