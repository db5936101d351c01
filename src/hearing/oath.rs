//! Oath and affirmation texts shown to a witness or interpreter, in the hearing's
//! language (the six UN languages), with the warning that false testimony is punishable as perjury. The signed
//! statement holds the exact text shown.

use super::protocol::OathForm;

/// The text for `form` in `language` (falls back to English).
pub fn text(language: &str, form: OathForm, witness: bool) -> String {
    let lang = language.split('-').next().unwrap_or("en");
    let (oath, affirmation, interpreter, warning) = match lang {
        "fr" => (
            "Je jure de dire toute la vérité, rien que la vérité.",
            "J'affirme solennellement et sincèrement dire toute la vérité, rien que la vérité.",
            "Je jure (j'affirme) de traduire fidèlement et exactement tout ce qui sera dit.",
            "Je sais qu'un faux témoignage est puni comme un parjure par la loi de l'État requérant et de l'État requis.",
        ),
        "es" => (
            "Juro decir toda la verdad y nada más que la verdad.",
            "Afirmo solemne y sinceramente que diré toda la verdad y nada más que la verdad.",
            "Juro (afirmo) interpretar fiel y exactamente todo lo que se diga.",
            "Sé que el falso testimonio se castiga como perjurio según la ley del Estado requirente y del Estado requerido.",
        ),
        "ar" => (
            "أقسم أن الشهادة التي سأدلي بها ستكون الحق، كل الحق، ولا شيء غير الحق.",
            "أعلن وأؤكد رسميا، بإخلاص وصدق، أن الشهادة التي سأدلي بها ستكون الحق، كل الحق، ولا شيء غير الحق.",
            "أقسم (أؤكد) أنني سأترجم بإتقان وأمانة، وأنني سأقدم بيانا صادقا لجميع المسائل التي يُطلب مني بيانها.",
            "وأعلم أن الإدلاء بشهادة كاذبة يعاقب عليه بوصفه حنثا باليمين بموجب قانون الدولة الطالبة وقانون الدولة متلقية الطلب.",
        ),
        "zh" => (
            "我宣誓：我将提供的证言是真相，是全部真相，且仅仅是真相。",
            "我郑重、真诚、如实地声明并确认：我将提供的证言是真相，是全部真相，且仅仅是真相。",
            "我宣誓（郑重声明）：我将妥善、忠实地进行翻译，并对要求我说明的一切事项作出如实说明。",
            "我知悉，根据请求国和被请求国的法律，提供虚假证言将以伪证罪论处。",
        ),
        "ru" => (
            "Клянусь, что показания, которые я дам, будут правдой, всей правдой и ничем, кроме правды.",
            "Я торжественно, искренне и честно заявляю и подтверждаю, что показания, которые я дам, будут правдой, всей правдой и ничем, кроме правды.",
            "Клянусь (торжественно заявляю), что буду надлежащим образом и добросовестно переводить и давать правдивые разъяснения по всем вопросам, по которым это от меня потребуется.",
            "Я понимаю, что дача ложных показаний наказуема как лжесвидетельство по законодательству запрашивающего и запрашиваемого государств.",
        ),
        _ => (
            "I swear that the evidence I shall give shall be the truth, the whole truth and nothing but the truth.",
            "I solemnly, sincerely and truly declare and affirm that the evidence I shall give shall be the truth, the whole truth and nothing but the truth.",
            "I swear (affirm) that I will well and faithfully interpret and make true explanation of all such matters as shall be required of me.",
            "I understand that giving false evidence is punishable as perjury under the law of the requesting and the requested State.",
        ),
    };
    let promise = match (witness, form) {
        (false, _) => interpreter,
        (true, OathForm::Oath) => oath,
        (true, OathForm::Affirmation) => affirmation,
    };
    format!("{promise} {warning}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_carry_the_perjury_warning() {
        assert!(text("en", OathForm::Oath, true).contains("perjury"));
        assert!(text("fr-CH", OathForm::Affirmation, true).contains("parjure"));
        assert!(text("es", OathForm::Oath, false).contains("interpretar"));
        assert!(text("xx", OathForm::Oath, true).starts_with("I swear"));
        assert!(text("ar", OathForm::Oath, true).contains("حنثا باليمين"));
        assert!(text("zh-CN", OathForm::Affirmation, true).contains("伪证罪"));
        assert!(text("ru", OathForm::Oath, false).contains("лжесвидетельство"));
    }
}
