//! Where a replication's rows wait until they are written in replication order: in memory
//! up to a bound ([`SPILL`]), in a part file of the replication's own past it; and the
//! [`Assembler`], which appends the parts to the output files in replication order.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::rows::FILES;

/// A replication's rows of one file, kept in memory until they are written in replication
/// order; a part that outgrows [`SPILL`] bytes goes on in a file of its own instead, so
/// memory stays bounded whatever one replication writes.
pub(super) struct Sink {
    buf: Vec<u8>,
    file: Option<BufWriter<File>>,
    path: PathBuf,
}

/// The most bytes of one file a replication keeps in memory.
pub(super) const SPILL: usize = 512 << 10;

impl Sink {
    pub(super) fn new(path: PathBuf) -> Sink {
        Sink { buf: Vec::new(), file: None, path }
    }

    pub(super) fn finish(self) -> io::Result<Part> {
        match self.file {
            Some(f) => {
                f.into_inner().map_err(|e| e.into_error())?;
                Ok(Part::File(self.path))
            }
            None => Ok(Part::Memory(self.buf)),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if let Some(f) = self.file.as_mut() {
            return f.write(b);
        }
        self.buf.extend_from_slice(b);
        if self.buf.len() > SPILL {
            let mut f = BufWriter::with_capacity(1 << 16, File::create(&self.path)?);
            f.write_all(&self.buf)?;
            self.buf = Vec::new();
            self.file = Some(f);
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

/// A replication's rows of one file.
pub(super) enum Part {
    Memory(Vec<u8>),
    File(PathBuf),
}

/// The output files, each written in replication order from the replications' parts.
pub(super) struct Assembler {
    files: [Option<(PathBuf, BufWriter<File>)>; 6],
}

impl Assembler {
    pub(super) fn new(dir: &Path, headers: [Option<String>; 6]) -> io::Result<Assembler> {
        let mut files: [Option<(PathBuf, BufWriter<File>)>; 6] = Default::default();
        for (i, h) in headers.into_iter().enumerate() {
            if let Some(h) = h {
                let path = dir.join(FILES[i]);
                let mut w = BufWriter::with_capacity(1 << 16, File::create(&path)?);
                w.write_all(h.as_bytes())?;
                w.write_all(b"\n")?;
                files[i] = Some((path, w));
            }
        }
        Ok(Assembler { files })
    }

    pub(super) fn append(&mut self, parts: [Option<Part>; 6]) -> io::Result<()> {
        for (f, part) in self.files.iter_mut().zip(parts) {
            let (Some((_, w)), Some(part)) = (f.as_mut(), part) else { continue };
            match part {
                Part::Memory(bytes) => w.write_all(&bytes)?,
                Part::File(path) => {
                    io::copy(&mut File::open(&path)?, w)?;
                    fs::remove_file(&path)?;
                }
            }
        }
        Ok(())
    }

    /// Closes the files; their names and sizes in [`FILES`] order.
    pub(super) fn finish(self) -> io::Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for (i, f) in self.files.into_iter().enumerate() {
            if let Some((path, w)) = f {
                w.into_inner().map_err(|e| e.into_error())?;
                out.push((FILES[i].to_string(), fs::metadata(&path)?.len()));
            }
        }
        Ok(out)
    }
}
