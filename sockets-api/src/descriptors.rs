//! A descriptor table: small integers naming open files, the lowest free one
//! first (from [`FIRST_FD`]: 0, 1 and 2 are stdin, stdout and stderr in a C
//! process), bounded by a limit (`EMFILE` past it), as a Unix process's table is.
//!
//! Clock-free and lock-free: the blocking [`crate::Stack`] keeps one of shared open
//! files behind its lock, and drill's virtual-time kernel one of its own
//! descriptors.

use crate::consts::FD_SETSIZE;
use crate::errno::Errno;

/// The first descriptor handed out.
pub const FIRST_FD: i32 = 3;

/// Open files of type `F` by descriptor number.
#[derive(Debug)]
pub struct Descriptors<F> {
    slots: Vec<Option<F>>,
    limit: usize,
    open: usize,
}

impl<F> Default for Descriptors<F> {
    fn default() -> Self {
        Descriptors::new(FD_SETSIZE)
    }
}

impl<F> Descriptors<F> {
    /// An empty table whose descriptors stay below `limit` (like `ulimit -n`).
    pub fn new(limit: usize) -> Descriptors<F> {
        Descriptors {
            slots: Vec::new(),
            limit,
            open: 0,
        }
    }

    fn index(fd: i32) -> Option<usize> {
        usize::try_from(fd.checked_sub(FIRST_FD)?).ok()
    }

    /// The file `fd` names (`EBADF` if none).
    pub fn get(&self, fd: i32) -> Result<&F, Errno> {
        Self::index(fd)
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    /// The file `fd` names, to change (`EBADF` if none).
    pub fn get_mut(&mut self, fd: i32) -> Result<&mut F, Errno> {
        Self::index(fd)
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)
    }

    /// True when a new descriptor could be allocated.
    pub fn has_room(&self) -> bool {
        self.lowest_free().is_some()
    }

    fn lowest_free(&self) -> Option<usize> {
        self.lowest_free_but(|_| false)
    }

    /// The lowest free slot whose descriptor `taken` does not claim.
    fn lowest_free_but(&self, taken: impl Fn(i32) -> bool) -> Option<usize> {
        let i = (0..)
            .find(|&i| self.slots.get(i).is_none_or(Option::is_none) && !taken(FIRST_FD + i as i32))
            .unwrap_or(self.slots.len());
        (FIRST_FD as usize + i < self.limit).then_some(i)
    }

    /// Gives `file` the lowest free descriptor (`EMFILE` if the table is full).
    pub fn insert(&mut self, file: F) -> Result<i32, Errno> {
        self.insert_but(file, |_| false)
    }

    /// Like [`Descriptors::insert`], skipping the descriptors `taken` claims (those
    /// of another table sharing the numbers).
    pub fn insert_but(&mut self, file: F, taken: impl Fn(i32) -> bool) -> Result<i32, Errno> {
        let i = self.lowest_free_but(taken).ok_or(Errno::EMFILE)?;
        while self.slots.len() < i {
            self.slots.push(None);
        }
        if i == self.slots.len() {
            self.slots.push(Some(file));
        } else {
            self.slots[i] = Some(file);
        }
        self.open += 1;
        Ok(FIRST_FD + i as i32)
    }

    /// Gives `file` descriptor `fd`, which must be free and below the limit
    /// (`EBADF` otherwise), as `dup2` chooses its target.
    pub fn insert_at(&mut self, fd: i32, file: F) -> Result<i32, Errno> {
        let i = Self::index(fd).ok_or(Errno::EBADF)?;
        if FIRST_FD as usize + i >= self.limit || self.slots.get(i).is_some_and(Option::is_some) {
            return Err(Errno::EBADF);
        }
        while self.slots.len() <= i {
            self.slots.push(None);
        }
        self.slots[i] = Some(file);
        self.open += 1;
        Ok(fd)
    }

    /// Frees `fd` and returns its file (`EBADF` if it was not open).
    pub fn remove(&mut self, fd: i32) -> Result<F, Errno> {
        let slot = Self::index(fd)
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(Errno::EBADF)?;
        let file = slot.take().ok_or(Errno::EBADF)?;
        self.open -= 1;
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        Ok(file)
    }

    /// Every open descriptor and its file, in order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &F)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (FIRST_FD + i as i32, f)))
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.open
    }

    /// True when no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// The limit descriptors stay below.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (open descriptors above it stay open).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_first_and_bounded() {
        let mut t = Descriptors::new(6);
        assert_eq!(t.insert('a'), Ok(3));
        assert_eq!(t.insert('b'), Ok(4));
        assert_eq!(t.insert('c'), Ok(5));
        assert_eq!(t.insert('d'), Err(Errno::EMFILE));
        assert_eq!(t.remove(4), Ok('b'));
        assert_eq!(t.remove(4), Err(Errno::EBADF));
        assert_eq!(t.insert('e'), Ok(4));
        *t.get_mut(4).unwrap() = 'f';
        assert_eq!(t.get(4), Ok(&'f'));
        assert_eq!(t.get(2), Err(Errno::EBADF));
        assert_eq!(t.get(-1), Err(Errno::EBADF));
        assert_eq!(t.iter().map(|(fd, _)| fd).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(t.len(), 3);
    }
}
