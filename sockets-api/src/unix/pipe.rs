//! Pipes and FIFOs in the UNIX domain of a stack: `pipe`, and the named pipes
//! of `mkfifo` opened with `open`; `unlink` removes FIFO and socket names alike.

use super::{name_of, Chan, UnixKind};
use crate::bsd::Stack;
use crate::consts::{O_NONBLOCK, O_RDONLY, O_WRONLY};
use crate::errno::{track, Errno};

impl Stack {
    /// `pipe(fds)`: `[read end, write end]` (4.4BSD tutorial, Figure 1). Reading
    /// gives end of file once every write end closed; writing with no read end
    /// open is `EPIPE`.
    pub fn pipe(&self) -> Result<[i32; 2], Errno> {
        track((|| {
            let (r, w) = {
                let mut u = self.inner.unix.lock();
                let c = u.chan();
                let (r, w) = (u.endpoint(), u.endpoint());
                if let Some(e) = u.eps.get_mut(&r) {
                    e.rx = Some(c);
                }
                if let Some(e) = u.eps.get_mut(&w) {
                    e.tx = Some(c);
                }
                (r, w)
            };
            let rfd = self.unix_install(UnixKind::PipeRead, r, false)?;
            match self.unix_install(UnixKind::PipeWrite, w, false) {
                Ok(wfd) => Ok([rfd, wfd]),
                Err(e) => {
                    let _ = self.close(rfd);
                    Err(e)
                }
            }
        })())
    }

    /// `unlink(path)`: removes a UNIX-domain name (`ENOENT` if none).
    pub fn unlink(&self, path: &str) -> Result<(), Errno> {
        track(self.unix_now(|u| {
            if let Some(c) = u.fifos.remove(path.as_bytes()) {
                // Open ends keep the channel; it goes with the last of them.
                if let Some(ch) = u.chans.get_mut(&c) {
                    ch.named = false;
                    if ch.readers == 0 && ch.writers == 0 {
                        u.chans.remove(&c);
                    }
                }
                return Ok(());
            }
            u.names
                .remove(path.as_bytes())
                .map(|_| ())
                .ok_or(Errno::ENOENT)
        }))
    }

    /// `mkfifo(path, mode)`: a named pipe in the stack's name space (the slides'
    /// FIFO example). `EEXIST` when the name is taken (by a FIFO or a socket).
    pub fn mkfifo(&self, path: &str) -> Result<(), Errno> {
        track(self.unix_now(|u| {
            let p = name_of(path.as_bytes()).ok_or(Errno::ENOENT)?;
            if u.fifos.contains_key(&p) || u.names.contains_key(&p) {
                return Err(Errno::EEXIST);
            }
            let id = u.id();
            u.chans.insert(
                id,
                Chan {
                    named: true,
                    ..Chan::default()
                },
            );
            u.fifos.insert(p, id);
            Ok(())
        }))
    }

    /// `open(path, flags)` of a FIFO made with [`Stack::mkfifo`]: `O_RDONLY` or
    /// `O_WRONLY` (with `O_NONBLOCK`). As POSIX says, opening one end waits until
    /// the other end is open too; with `O_NONBLOCK` a reader opens at once and a
    /// writer without a reader gets `ENXIO`. `ENOENT` for a name that is no FIFO;
    /// `O_RDWR` is `EINVAL` here (POSIX leaves it undefined).
    pub fn open(&self, path: &str, flags: i32) -> Result<i32, Errno> {
        track((|| {
            let nonblocking = flags & O_NONBLOCK != 0;
            let kind = match flags & 3 {
                O_RDONLY => UnixKind::PipeRead,
                O_WRONLY => UnixKind::PipeWrite,
                _ => return Err(Errno::EINVAL),
            };
            let id = self.unix_now(|u| {
                let c = *u.fifos.get(path.as_bytes()).ok_or(Errno::ENOENT)?;
                let ch = u.chans.get_mut(&c).ok_or(Errno::ENOENT)?;
                if kind == UnixKind::PipeWrite && nonblocking && ch.readers == 0 {
                    return Err(Errno::ENXIO);
                }
                // The other end, now: open (no wait), or how often it was opened
                // (wait until that changes).
                let partner = if kind == UnixKind::PipeRead {
                    ch.readers += 1;
                    ch.read_opens += 1;
                    (ch.writers > 0, ch.write_opens)
                } else {
                    ch.writers += 1;
                    ch.write_opens += 1;
                    (ch.readers > 0, ch.read_opens)
                };
                let id = u.endpoint();
                if let Some(e) = u.eps.get_mut(&id) {
                    if kind == UnixKind::PipeRead {
                        e.rx = Some(c);
                    } else {
                        e.tx = Some(c);
                    }
                }
                Ok((id, partner))
            })?;
            let (id, (partner_open, partner_before)) = id;
            if !nonblocking && !partner_open {
                // Wait for the other end (a reader for a writer, and back).
                let waited = self.unix_wait(false, |u| {
                    let c = u.eps.get(&id).and_then(|e| e.rx.or(e.tx));
                    let ch = c.and_then(|c| u.chans.get(&c)).ok_or(Errno::ENOENT)?;
                    let opens = if kind == UnixKind::PipeRead {
                        ch.write_opens
                    } else {
                        ch.read_opens
                    };
                    Ok((opens != partner_before).then_some(()))
                });
                if let Err(e) = waited {
                    self.inner.unix.lock().release(id);
                    return Err(e);
                }
            }
            self.unix_install(kind, id, nonblocking)
        })())
    }
}
