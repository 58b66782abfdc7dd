//! A real SMTP server inside the test process (mailin-embedded), catching
//! what the service sends so tests can read it.

use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Server, SslConfig, response};

/// One message as it arrived.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    /// The decoded text body.
    pub body: String,
    /// Everything on the wire, undecoded.
    pub raw: String,
}

#[derive(Clone)]
struct Catcher {
    inbox: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Catcher {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> response::Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> response::Response {
        let parsed = mailparse::parse_mail(&self.data).expect("a parseable message");
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
        };
        self.inbox.lock().unwrap().push(Mail {
            to: self.to.clone(),
            subject: header("Subject").unwrap_or_default(),
            message_id: header("Message-ID").unwrap_or_default(),
            body: parsed.get_body().unwrap_or_default(),
            raw: String::from_utf8_lossy(&self.data).into_owned(),
        });
        response::OK
    }
}

/// The inbox of a running test SMTP server.
#[derive(Clone)]
pub struct MailServer {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Mail>>>,
}

impl MailServer {
    /// Starts a server on a free port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        Self::serve(listener)
    }

    /// Starts a server on `port` (which nothing listened on until now).
    pub fn start_on(port: u16) -> Self {
        Self::serve(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    /// A port with nothing listening: an SMTP server that is down.
    pub fn unused_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let handler = Catcher {
            inbox: inbox.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(handler);
        server
            .with_name("mail.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, inbox }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Mail> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until at least `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..200 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages, got {}", self.messages().len());
    }
}
