//! The statement of the witness's rights the court reads before the testimony, in
//! the six UN languages (Model Treaty on Mutual Assistance, art. 11 and 12;
//! GA res. 53/112, annex I, art. 11 footnote on perjury by video link). The text is sent
//! to every page and logged (`rights_explained`) exactly as returned here: it must never
//! be assembled from anything a participant typed.

/// The languages a statement of rights exists in.
pub const LANGUAGES: [&str; 6] = ["en", "fr", "es", "ar", "zh", "ru"];

/// The English name of one of [`LANGUAGES`] (labels of derived copies, whose texts are
/// English); None for anything else.
pub fn english_name(code: &str) -> Option<&'static str> {
    match code {
        "ar" => Some("Arabic"),
        "en" => Some("English"),
        "es" => Some("Spanish"),
        "fr" => Some("French"),
        "ru" => Some("Russian"),
        "zh" => Some("Chinese"),
        _ => None,
    }
}

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
        "ar" => AR,
        "zh" => ZH,
        "ru" => RU,
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

const AR: &str = "قبل أن تدلي بشهادتك، تُعلمك المحكمة بحقوقك.\n\
1. يجوز لك أن تمتنع عن الإدلاء بالشهادة، أو عن الإجابة عن سؤال بعينه، إذا كان قانون الدولة متلقية الطلب (التي توجد فيها) أو قانون الدولة الطالبة (التي تنعقد فيها المحكمة) يجيز لك الامتناع أو يلزمك به في ظروف مماثلة، على سبيل المثال بسبب صلة قرابة عائلية تربطك بالمتهم أو بسبب سر مهني.\n\
2. لست ملزما بالإجابة عن سؤال إذا كان من شأن إجابتك أن تعرضك، أو تعرض أحد أقاربك المقربين، للملاحقة الجنائية.\n\
3. للتمسك بأحد هذه الحقوق، أبلغ المحكمة بذلك أو استخدم استمارة «التمسك بحق الامتناع»، واذكر السبب بكلماتك الخاصة؛ وسيبت القاضي في الأمر ويبلغك بقراره.\n\
4. يحق لك الاستعانة مجانا بمترجم شفوي كفء إذا كنت لا تفهم لغة الجلسة أو لا تتكلمها على نحو تام.\n\
5. يحق لك أن يساعدك محام من اختيارك أثناء إدلائك بشهادتك.\n\
6. يجب عليك أن تقول الحق. والإدلاء بشهادة كاذبة عبر الاتصال المرئي جريمة جنائية يعاقب عليها بوصفها حنثا باليمين بموجب قانون الدولة متلقية الطلب وقانون الدولة الطالبة.\n\
هذه الجلسة مسجلة.";

const ZH: &str = "在您作证之前，法庭告知您所享有的权利。\n\
1. 如被请求国（您所在的国家）的法律或请求国（法庭所在的国家）的法律允许或要求您在类似情形下拒绝作证，您可以拒绝作证或拒绝回答某一特定问题，例如基于您与被告人的亲属关系或职业秘密。\n\
2. 如您的回答可能使您本人或您的近亲属受到刑事追诉，您没有义务回答该问题。\n\
3. 如需行使上述任何一项权利，请向法庭提出，或使用“主张拒证权”表格，并用您自己的话说明理由；法官将作出决定并告知您该决定。\n\
4. 如您不能完全听懂或不能完全讲庭审所用语言，您有权免费获得称职译员的协助。\n\
5. 您有权在作证期间获得您自行选择的律师的协助。\n\
6. 您必须如实作证。通过视频连线提供虚假证言是刑事犯罪，依照被请求国和请求国的法律以伪证罪论处。\n\
本次庭审正在录制。";

const RU: &str = "Прежде чем вы дадите показания, суд разъясняет вам ваши права.\n\
1. Вы вправе отказаться от дачи показаний или от ответа на конкретный вопрос, если закон запрашиваемого государства (где вы находитесь) или закон запрашивающего государства (где заседает суд) разрешает вам или обязывает вас отказаться в аналогичных обстоятельствах, например в связи с родственными отношениями с обвиняемым или профессиональной тайной.\n\
2. Вы не обязаны отвечать на вопрос, если ваш ответ может подвергнуть вас или вашего близкого родственника уголовному преследованию.\n\
3. Чтобы воспользоваться одним из этих прав, сообщите об этом суду или воспользуйтесь формой «Заявить о праве на отказ от показаний» и изложите основание своими словами; судья примет решение и сообщит его вам.\n\
4. Вы имеете право на бесплатную помощь компетентного переводчика, если вы не в полной мере понимаете язык, на котором ведется слушание, или не в полной мере говорите на нем.\n\
5. Вы имеете право пользоваться помощью адвоката по вашему выбору во время дачи показаний.\n\
6. Вы обязаны говорить правду. Дача ложных показаний в режиме видеоконференции является преступлением, наказуемым как лжесвидетельство по законодательству запрашиваемого государства и запрашивающего государства.\n\
Настоящее слушание записывается.";

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
            (
                "ar",
                [
                    "تمتنع عن الإدلاء بالشهادة",
                    "للملاحقة الجنائية",
                    "مترجم شفوي",
                    "محام",
                    "حنثا باليمين",
                ],
            ),
            ("zh", ["拒绝作证", "刑事追诉", "译员", "律师", "伪证罪"]),
            (
                "ru",
                [
                    "отказаться от дачи показаний",
                    "уголовному преследованию",
                    "переводчика",
                    "адвоката",
                    "лжесвидетельство",
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
