use super::*;

fn sio(s: &str) -> SioPacket {
    match decode(Utf8Bytes::from(s.to_owned())).unwrap() {
        EioPacket::Message(p) => decode_packet(&p, MAX_ATTACHMENTS).unwrap(),
        other => panic!("{other:?}"),
    }
}

fn parses(s: &str) -> bool {
    match decode(Utf8Bytes::from(s.to_owned())) {
        Ok(EioPacket::Message(p)) => decode_packet(&p, MAX_ATTACHMENTS).is_ok(),
        Ok(_) => true,
        Err(_) => false,
    }
}

#[test]
fn decodes_connects() {
    assert!(matches!(sio("40"), SioPacket::Connect { nsp, auth: None } if nsp == "/"));
    assert!(matches!(sio("40/admin,"), SioPacket::Connect { nsp, auth: None } if nsp == "/admin"));
    assert!(matches!(sio("40/admin"), SioPacket::Connect { nsp, .. } if nsp == "/admin"));
    match sio(r#"40/admin,{"token":"x"}"#) {
        SioPacket::Connect {
            auth: Some(auth), ..
        } => assert_eq!(auth["token"], "x"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn decodes_events_with_nest_payload_mapping() {
    match sio(r#"42["foo","bar"]"#) {
        SioPacket::Event {
            nsp,
            ack: None,
            event,
            data,
            ..
        } => {
            assert_eq!(
                (nsp.as_str(), event.as_str(), data.unwrap().as_str()),
                ("/", "foo", r#""bar""#)
            );
        }
        other => panic!("{other:?}"),
    }
    match sio(r#"42/chat,12["foo",1,{"a":2}]"#) {
        SioPacket::Event {
            nsp,
            ack: Some(12),
            data,
            ..
        } => {
            assert_eq!(nsp, "/chat");
            assert_eq!(data.unwrap().as_str(), r#"[1,{"a":2}]"#);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        sio(r#"42["ping"]"#),
        SioPacket::Event { data: None, .. }
    ));
}

#[test]
fn a_numeric_event_name_is_its_decimal_text_as_in_socket_io_parser() {
    match sio(r#"42/events,[1,"x"]"#) {
        SioPacket::Event { event, .. } => assert_eq!(event.as_str(), "1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_invalid_packets() {
    for bad in [
        "",
        "9",
        "2",
        "4",
        "42",
        "42{}",
        "42[]",
        r#"42[null]"#,
        r#"42[{}]"#,
        r#"42["connect"]"#,
        "43[]",
        "41/a,x",
        "40[1]",
        "45-[\"a\"]",
        "4511-[\"a\"]",
        "45x-[\"a\"]",
        "42abc[\"a\"]",
        "4é",
        "4\u{1f600}[]",
    ] {
        assert!(!parses(bad), "{bad}");
    }
}

#[test]
fn decodes_binary_packets() {
    match sio(r#"452-/chat,7["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#) {
        SioPacket::Event {
            nsp,
            ack: Some(7),
            attachments: 2,
            several: true,
            ..
        } => assert_eq!(nsp, "/chat"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        sio("461-3[1]"),
        SioPacket::Ack {
            ack: 3,
            attachments: 1,
            ..
        }
    ));
    assert_eq!(
        encode_event_args("", None, "a", "1,2", 2),
        r#"452-["a",1,2]"#
    );
    assert_eq!(encode_ack_args("/x,", 4, "", 1), "461-/x,4[]");
}

#[test]
fn encodes() {
    assert_eq!(encode_event("/chat,", "a", "1"), r#"42/chat,["a",1]"#);
    assert_eq!(encode_ack("", 3, r#""pong""#), r#"433["pong"]"#);
    assert_eq!(encode_connect("", "abc", None), r#"40{"sid":"abc"}"#);
    assert_eq!(
        encode_connect_error("/x,", "Invalid namespace", None),
        r#"44/x,{"message":"Invalid namespace"}"#
    );
    assert_eq!(nsp_prefix("/"), "");
}
