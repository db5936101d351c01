//! WebSocket signalling endpoints: one task per socket moves frames between the
//! browser and the hearing task. Bad input gets a close code and reason; nothing a peer
//! sends can take the server down. Every upgrade must carry this server's `Origin`
//! (`guard::check_origin`): a page elsewhere cannot open a socket with our cookie.

use super::AppState;
use super::auth::Staff;
use super::error::ApiError;
use super::guard::{OriginRule, check_origin};
use super::join::resolve_invite;
use crate::domain::{Action, HearingState, ParticipantId, ParticipantRole};
use crate::hearing::HearingHandle;
use crate::hearing::protocol::{ClientMsg, MAX_MESSAGE_BYTES, Outbound, ParseError, close};
use crate::secrets::{new_id, now_unix};
use crate::store::ParticipantRow;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// `GET /ws/join/<token>`: an invited participant.
pub async fn join(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers, OriginRule::Required)?;
    let (participant, hearing) = resolve_invite(&state, &token).await?;
    let handle = state.hearings.handle(&hearing.id);
    Ok(upgrade(ws, handle, participant, None))
}

/// `GET /ws/hearings/<id>`: the presiding judge's console (cookie; for a rehearsal also a clerk
/// with `RunRehearsal`, who conducts it), own court only (a
/// hearing of another court is refused with 404 before the upgrade).
pub async fn console(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers, OriginRule::Required)?;
    // A clerk may conduct a rehearsal (never a real hearing) from the same console.
    let h =
        super::hearings::hearing_or_rehearsal(&state, &staff, &id, Action::ConductHearing).await?;
    if h.state == HearingState::Closed {
        return Err(ApiError::HearingClosed);
    }
    let participant = match state
        .store
        .participant_for_user(&h.id, &staff.user.id)
        .await?
    {
        Some(p) => p,
        None => {
            let pid = ParticipantId::from_trusted(new_id());
            let name = if staff.allows(Action::ConductHearing) {
                format!("Presiding judge ({})", staff.user.username)
            } else {
                format!("Conducting the rehearsal ({})", staff.user.username)
            };
            state
                .store
                .create_participant(
                    &pid,
                    &h.id,
                    &name,
                    ParticipantRole::Judge,
                    Some(&staff.user.id),
                    None,
                    None,
                    now_unix(),
                )
                .await?;
            state
                .store
                .participant(&pid)
                .await?
                .ok_or(ApiError::NotFound)?
        }
    };
    let handle = state.hearings.handle(&h.id);
    let check = SessionCheck {
        store: state.store.clone(),
        session_hash: staff.session_hash,
    };
    Ok(upgrade(ws, handle, participant, Some(check)))
}

/// A console socket outlives the request that opened it: its session is re-checked
/// every [`SESSION_RECHECK`], so a sign-out, a password change elsewhere, an expired
/// session or a disabled account closes it (4001).
struct SessionCheck {
    store: Arc<crate::store::Store>,
    session_hash: String,
}

const SESSION_RECHECK: Duration = Duration::from_secs(5);

impl SessionCheck {
    async fn still_valid(&self) -> bool {
        // A store error keeps the socket: the next check decides.
        !matches!(
            self.store.session(&self.session_hash, now_unix()).await,
            Ok(None)
        )
    }
}

fn upgrade(
    ws: WebSocketUpgrade,
    handle: HearingHandle,
    participant: ParticipantRow,
    check: Option<SessionCheck>,
) -> Response {
    // Twice the protocol limit at the transport, so an oversized message still gets a
    // proper 1009 close from our own check rather than a dropped connection.
    ws.max_message_size(2 * MAX_MESSAGE_BYTES)
        .max_frame_size(2 * MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| run_socket(socket, handle, participant, check))
}

const OUTBOUND_QUEUE: usize = 256;
/// How long a socket the server closes waits for the peer's answering close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Messages a socket may send in a burst, and per second after it (a page sends a few
/// dozen at most when it starts: hello, an offer, its ICE candidates). Beyond that the
/// socket is closed with `close::TOO_MANY_MESSAGES`: a flood reaches neither the hearing
/// task nor the evidence log.
const BURST: f64 = 120.0;
const PER_SECOND: f64 = 20.0;

/// A token bucket for one socket's messages.
struct MessageBudget {
    tokens: f64,
    at: tokio::time::Instant,
}

impl MessageBudget {
    fn new() -> MessageBudget {
        MessageBudget {
            tokens: BURST,
            at: tokio::time::Instant::now(),
        }
    }

    /// Takes one message's token; false when the socket is over its rate.
    fn take(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * PER_SECOND;
        self.tokens = (self.tokens + refill).min(BURST);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

async fn run_socket(
    mut socket: WebSocket,
    handle: HearingHandle,
    participant: ParticipantRow,
    check: Option<SessionCheck>,
) {
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(OUTBOUND_QUEUE);
    let Ok(conn) = handle.connect(participant, out_tx).await else {
        close_with(
            &mut socket,
            close_msg(close::SERVER_SHUTDOWN, "the hearing is not available"),
        )
        .await;
        return;
    };
    let mut budget = MessageBudget::new();
    let mut recheck = tokio::time::interval(SESSION_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = recheck.tick(), if check.is_some() => {
                let valid = match &check {
                    Some(c) => c.still_valid().await,
                    None => true,
                };
                if !valid {
                    close_with(&mut socket, close_msg(close::UNAUTHORIZED, "signed out")).await;
                    break;
                }
            }
            incoming = tokio::time::timeout(IDLE_TIMEOUT, socket.recv()) => {
                let frame = match incoming {
                    Err(_) => { close_with(&mut socket, close_msg(close::BAD_MESSAGE, "idle for too long")).await; break; }
                    Ok(None) => break,
                    Ok(Some(Err(e))) => {
                        // A frame over the transport limit or against the protocol: say
                        // so with a close frame (best effort) rather than just dropping.
                        close_with(&mut socket, frame_error_close(&e)).await;
                        break;
                    }
                    Ok(Some(Ok(frame))) => frame,
                };
                if matches!(frame, Message::Text(_) | Message::Binary(_)) && !budget.take() {
                    close_with(&mut socket, close_msg(close::TOO_MANY_MESSAGES, "too many messages")).await;
                    break;
                }
                match frame {
                    Message::Text(text) => match ClientMsg::parse(text.as_str()) {
                        Ok(msg) => handle.client_message(conn, msg).await,
                        Err(ParseError::TooLarge) => { close_with(&mut socket, close_msg(1009, "message too large")).await; break; }
                        Err(ParseError::Invalid(_)) => { close_with(&mut socket, close_msg(close::BAD_MESSAGE, "bad message")).await; break; }
                    },
                    Message::Binary(_) => { close_with(&mut socket, close_msg(close::BAD_MESSAGE, "binary frames are not accepted")).await; break; }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            out = out_rx.recv() => match out {
                Some(Outbound::Msg(msg)) => {
                    let Ok(text) = serde_json::to_string(&msg) else { continue };
                    if socket.send(Message::Text(text.into())).await.is_err() { break; }
                }
                Some(Outbound::Close { code, reason }) => { close_with(&mut socket, close_msg(code, reason)).await; break; }
                None => break,
            }
        }
    }
    handle.disconnected(conn).await;
}

/// Sends a close frame, then reads until the peer answers with its own (RFC 6455 §7.1.1)
/// or `CLOSE_WAIT` passes. Dropping a socket with unread data in it makes the kernel reset
/// the connection, and a reset can discard our close frame before the peer reads it: the
/// page then sees 1006 ("connection lost") instead of why it was closed (e.g. 4015,
/// "the hearing is locked").
async fn close_with(socket: &mut WebSocket, frame: Message) {
    // Bounded as a whole: a peer that reads nothing cannot hold the task either.
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        if socket.send(frame).await.is_err() {
            return;
        }
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// The close frame for a frame the transport refused: 1009 when it was too large
/// (tungstenite's capacity error, known only by its text), 1002 otherwise.
fn frame_error_close(e: &axum::Error) -> Message {
    if e.to_string().contains("Space limit exceeded") {
        close_msg(1009, "message too large")
    } else {
        close_msg(1002, "bad frame")
    }
}

fn close_msg(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
