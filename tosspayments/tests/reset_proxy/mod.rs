//! A loopback HTTP/1.1 proxy in front of a fake PG that resets chosen connections: before
//! forwarding a request (the PG never sees it) or after the PG answered (it was processed, the
//! answer is lost). Requests and answers are framed by `Content-Length`, as the fakes send.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Whether a reset request reaches the PG first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Reset before forwarding: the PG never sees the request.
    No,
    /// Forward, wait for the PG's answer, then reset instead of relaying it.
    Yes,
}

#[derive(Debug, Clone)]
struct Rule {
    path_contains: String,
    times: u32,
    forward: Forward,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    resets: usize,
}

/// The proxy; stops when dropped.
pub struct ResetProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for ResetProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ResetProxy {
    /// Listens on a loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> ResetProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, Arc::clone(&shared)));
            }
        });
        ResetProxy { addr, state, task }
    }

    /// The proxy's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resets the next `times` POSTs whose path contains `path_contains`.
    pub fn reset_next(&self, path_contains: &str, times: u32, forward: Forward) {
        self.state.lock().unwrap().rules.push(Rule {
            path_contains: path_contains.to_owned(),
            times,
            forward,
        });
    }

    /// How many connections were reset so far.
    pub fn resets(&self) -> usize {
        self.state.lock().unwrap().resets
    }
}

/// Takes the first matching rule's action for a request line.
fn take_rule(state: &Mutex<State>, request_line: &str) -> Option<Forward> {
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next()?, parts.next()?);
    if method != "POST" {
        return None;
    }
    let mut state = state.lock().unwrap();
    let index = state
        .rules
        .iter()
        .position(|r| path.contains(&r.path_contains))?;
    let forward = state.rules[index].forward;
    state.rules[index].times -= 1;
    if state.rules[index].times == 0 {
        state.rules.remove(index);
    }
    state.resets += 1;
    Some(forward)
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, state: Arc<Mutex<State>>) {
    let mut buffer = Vec::new();
    let mut upstream_conn: Option<(TcpStream, Vec<u8>)> = None;
    while let Some((request, request_line)) = read_message(&mut client, &mut buffer).await {
        let reset = take_rule(&state, &request_line);
        if reset == Some(Forward::No) {
            break;
        }
        if upstream_conn.is_none() {
            let Ok(conn) = TcpStream::connect(upstream).await else {
                break;
            };
            upstream_conn = Some((conn, Vec::new()));
        }
        let Some((up, up_buffer)) = upstream_conn.as_mut() else {
            break;
        };
        if up.write_all(&request).await.is_err() {
            break;
        }
        let Some((answer, _)) = read_message(up, up_buffer).await else {
            break;
        };
        if reset == Some(Forward::Yes) || client.write_all(&answer).await.is_err() {
            break;
        }
    }
    // An RST, not a FIN: the client sees a connection reset.
    let _ = client.set_zero_linger();
}

/// Reads one HTTP/1.1 message (head and `Content-Length` body) from `stream`, keeping any
/// bytes beyond it in `buffer`. Returns the message and its first line; `None` at EOF.
async fn read_message(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(Vec<u8>, String)> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let length = head
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            while buffer.len() < total {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let message: Vec<u8> = buffer.drain(..total).collect();
            let first_line = head.lines().next().unwrap_or("").to_owned();
            return Some((message, first_line));
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
