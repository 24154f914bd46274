//! Serving agents over real TCP on 127.0.0.1 and scraping them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bpfhost::agent::Agent;

/// A tokio runtime serving agents with the agent's own router.
#[derive(Debug)]
pub struct Servers {
    rt: tokio::runtime::Runtime,
}

impl Servers {
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        Self { rt }
    }

    /// Serves `agent` on a fresh port of 127.0.0.1.
    pub fn serve(&self, agent: Arc<Agent>) -> SocketAddr {
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        self.rt.spawn(async move {
            axum::serve(
                listener,
                bpfhost::server::router(agent, bpfhost::server::Options::default()),
            )
            .await
            .expect("serving");
        });
        addr
    }
}

/// An HTTP/1.1 client keeping one connection alive, as Prometheus does, with
/// a body buffer reused across scrapes.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    line: String,
    pub body: Vec<u8>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            conn: None,
            line: String::new(),
            body: Vec::new(),
        }
    }

    /// GETs `path`; panics unless the answer is a 200. Returns the body size.
    pub fn get(&mut self, path: &str) -> usize {
        self.try_get(path)
            .or_else(|_| {
                // The server may have closed an idle connection: once more.
                self.conn = None;
                self.try_get(path)
            })
            .unwrap_or_else(|e| panic!("GET http://{}{path}: {e}", self.addr))
    }

    fn try_get(&mut self, path: &str) -> std::io::Result<usize> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_read_timeout(Some(Duration::from_mins(2)))?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::with_capacity(64 << 10, stream));
        }
        let conn = self.conn.as_mut().expect("connected above");
        write!(
            conn.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/plain\r\n\r\n",
            self.addr
        )?;
        let mut length = None;
        let mut status = 0;
        loop {
            self.line.clear();
            if conn.read_line(&mut self.line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let line = self.line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(code) = line.strip_prefix("HTTP/1.1 ") {
                status = code[..3].parse().unwrap_or(0);
            } else if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let length = length.ok_or_else(|| std::io::Error::other("no content-length"))?;
        self.body.resize(length, 0);
        conn.read_exact(&mut self.body)?;
        if status != 200 {
            return Err(std::io::Error::other(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&self.body)
            )));
        }
        Ok(length)
    }
}
