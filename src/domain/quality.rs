//! How a link's quality is judged, the same on the server (console, log, minutes) as on
//! the participant's own page (`web/js/quality.js` `classify`): good below 300 ms round
//! trip and 2 % loss, fair below 600 ms and 8 %, else poor; unknown with neither.
//! Pure.

use serde::Serialize;

/// A link's quality class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityLevel {
    Good,
    Fair,
    Poor,
    Unknown,
}

impl QualityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
            Self::Unknown => "unknown",
        }
    }

    /// The class named `s` (as logged), if any.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Good, Self::Fair, Self::Poor, Self::Unknown]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

/// The class of a round trip (ms) and the worse of the two losses (thousandths).
pub fn classify(rtt_ms: Option<u32>, loss_in: Option<u16>, loss_out: Option<u16>) -> QualityLevel {
    let loss = match (loss_in, loss_out) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    if rtt_ms.is_none() && loss.is_none() {
        return QualityLevel::Unknown;
    }
    let (r, l) = (rtt_ms.unwrap_or(0), loss.unwrap_or(0));
    if r < 300 && l < 20 {
        QualityLevel::Good
    } else if r < 600 && l < 80 {
        QualityLevel::Fair
    } else {
        QualityLevel::Poor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_match_the_page() {
        use QualityLevel::*;
        assert_eq!(classify(None, None, None), Unknown);
        assert_eq!(classify(Some(40), Some(0), None), Good);
        assert_eq!(classify(Some(299), None, Some(19)), Good);
        assert_eq!(classify(Some(300), None, None), Fair);
        assert_eq!(classify(None, Some(20), Some(0)), Fair);
        assert_eq!(classify(Some(599), Some(79), None), Fair);
        assert_eq!(classify(Some(600), None, None), Poor);
        assert_eq!(classify(Some(10), Some(3), Some(80)), Poor);
        for l in [Good, Fair, Poor, Unknown] {
            assert_eq!(QualityLevel::parse(l.as_str()), Some(l));
        }
    }
}
