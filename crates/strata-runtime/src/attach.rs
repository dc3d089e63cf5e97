//! The attach protocol between `strata` clients and a container's monitor, over the unix
//! socket `/run/strata/<id>/attach.sock`: frames of one kind byte, a big-endian u32 length
//! and the payload.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::oci::STATE_ROOT;

/// Client → monitor: bytes for the container's stdin.
pub const STDIN: u8 = 0;
/// Client → monitor: the terminal's size, rows and columns as two big-endian u16.
pub const RESIZE: u8 = 1;
/// Client → monitor: the client's stdin ended (closes the container's stdin).
pub const STDIN_EOF: u8 = 2;
/// Monitor → client: container output.
pub const STDOUT: u8 = 3;
pub const STDERR: u8 = 4;
/// Monitor → client: the container exited; payload is the exit code (big-endian i32).
pub const EXIT: u8 = 5;

/// The directory holding a container's sockets: short enough for sun_path.
pub fn socket_dir(id: &str) -> PathBuf {
    PathBuf::from(STATE_ROOT).join("sock").join(id)
}

pub fn attach_socket(id: &str) -> PathBuf {
    socket_dir(id).join("attach.sock")
}

pub fn console_socket(id: &str) -> PathBuf {
    socket_dir(id).join("console.sock")
}

pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.push(kind);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    w.write_all(&encode(kind, payload))
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 5];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > 16 << 20 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "attach frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((header[0], payload)))
}

/// Splits a byte buffer into complete frames, leaving a partial one in place.
pub fn drain_frames(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        if buf.len() < 5 {
            break;
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if buf.len() < 5 + len {
            break;
        }
        let kind = buf[0];
        let payload = buf[5..5 + len].to_vec();
        buf.drain(..5 + len);
        out.push((kind, payload));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = encode(STDOUT, b"hello");
        buf.extend(encode(EXIT, &7i32.to_be_bytes()));
        buf.extend(&encode(STDIN, b"partial")[..4]);
        let frames = drain_frames(&mut buf);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], (STDOUT, b"hello".to_vec()));
        assert_eq!(buf.len(), 4);
        let mut reader = &encode(STDERR, b"x")[..];
        assert_eq!(
            read_frame(&mut reader).unwrap(),
            Some((STDERR, b"x".to_vec()))
        );
        assert_eq!(read_frame(&mut reader).unwrap(), None);
    }
}
