//! The Danish Maritime Authority's words for senders, navigational status and ship types,
//! mapped to the ITU codes the rest of the decoder speaks.

use super::events::Mobile;
use crate::model::TransceiverClass;

/// Letters and digits only, lower case: how category words are compared. Words fit a stack
/// buffer, so a row's words cost no allocation; a longer text takes the allocating path.
fn with_normalised<T>(text: &str, compare: impl FnOnce(&str) -> T) -> T {
    let mut buffer = [0u8; 64];
    let mut len = 0;
    // Non-ASCII characters are never kept, so the bytes can be filtered one by one.
    for b in text.bytes().filter(u8::is_ascii_alphanumeric) {
        let Some(slot) = buffer.get_mut(len) else {
            let long: String = text
                .bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|b| char::from(b.to_ascii_lowercase()))
                .collect();
            return compare(&long);
        };
        *slot = b.to_ascii_lowercase();
        len += 1;
    }
    compare(std::str::from_utf8(&buffer[..len]).unwrap_or_default())
}

pub(super) fn mobile_from_text(text: &str) -> Mobile {
    with_normalised(text, |n| match n {
        "classb" => Mobile::Vessel(TransceiverClass::B),
        "basestation" => Mobile::BaseStation,
        "aton" => Mobile::AidToNavigation,
        _ => Mobile::Vessel(TransceiverClass::A),
    })
}

/// DMA's navigational status words to ITU codes; unrecognised words are unknown.
pub(super) fn nav_status_from_text(text: &str) -> Option<u8> {
    with_normalised(text, nav_status_code)
}

fn nav_status_code(n: &str) -> Option<u8> {
    let code = match n {
        "underwayusingengine" => 0,
        "atanchor" => 1,
        "notundercommand" => 2,
        "constrainedbyherdraught" => 4,
        "moored" => 5,
        "aground" => 6,
        "engagedinfishing" => 7,
        "underwaysailing" => 8,
        "reservedforfutureuse" => 13,
        "unknownvalue" | "undefined" | "notdefined" => 15,
        _ if n.starts_with("restrictedman") => 3,
        _ if n.contains("hsc") => 9,
        _ if n.contains("wig") => 10,
        _ if n.contains("towingastern") => 11,
        _ if n.contains("pushingahead") || n.contains("towingalongside") => 12,
        _ if n.contains("sart") => 14,
        _ => return None,
    };
    Some(code)
}

/// DMA's ship type words to a representative ITU code (see the table of the `csv` module).
pub(super) fn ship_type_from_text(text: &str) -> Option<u8> {
    with_normalised(text, ship_type_code)
}

fn ship_type_code(n: &str) -> Option<u8> {
    const TABLE: &[(&str, u8)] = &[
        ("towinglongwide", 32),
        ("towing", 31),
        ("wig", 20),
        ("fishing", 30),
        ("dredging", 33),
        ("diving", 34),
        ("military", 35),
        ("sailing", 36),
        ("pleasure", 37),
        ("hsc", 40),
        ("pilot", 50),
        ("sar", 51),
        ("tug", 52),
        ("porttender", 53),
        ("antipollution", 54),
        ("lawenforcement", 55),
        ("spare1", 56),
        ("spare2", 57),
        ("medical", 58),
        ("notpartytoconflict", 59),
        ("passenger", 60),
        ("cargo", 70),
        ("tanker", 80),
        ("other", 90),
    ];
    TABLE
        .iter()
        .find(|(word, _)| n.starts_with(word))
        .map(|&(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dma_words_map_to_itu_codes() {
        assert_eq!(ship_type_from_text("Tanker"), Some(80));
        assert_eq!(ship_type_from_text("Tanker - Hazard A"), Some(80));
        assert_eq!(ship_type_from_text("Towing long/wide"), Some(32));
        assert_eq!(ship_type_from_text("Towing"), Some(31));
        assert_eq!(ship_type_from_text("Law enforcement"), Some(55));
        assert_eq!(ship_type_from_text("Anti-pollution"), Some(54));
        assert_eq!(ship_type_from_text("Undefined"), None);
        assert_eq!(ship_type_from_text("Reserved"), None);
        assert_eq!(nav_status_from_text("Under way using engine"), Some(0));
        assert_eq!(nav_status_from_text("Restricted manoeuverability"), Some(3));
        assert_eq!(nav_status_from_text("Moored"), Some(5));
        assert_eq!(nav_status_from_text("Unknown value"), Some(15));
        assert_eq!(nav_status_from_text("Something new"), None);
        let long = format!("{} towing astern", "x".repeat(80));
        assert_eq!(
            nav_status_from_text(&long),
            Some(11),
            "past the stack buffer"
        );
    }
}
