use std::fs;

use super::*;

/// `as_slice` for the tests: each test owns the files and memory it maps.
fn read<T: bytemuck::Pod>(m: &Mapping) -> Result<&[T]> {
    // SAFETY: no test writes the bytes by another map while a slice of them lives (tests with
    // two maps of one file use each slice within one statement).
    unsafe { m.as_slice::<T>() }
}

/// `as_mut_slice` for the tests.
fn write<T: bytemuck::Pod>(m: &mut Mapping) -> Result<&mut [T]> {
    // SAFETY: no test reads or writes the bytes by another map while this slice of them lives
    // (tests with two maps of one file use each slice within one statement).
    unsafe { m.as_mut_slice::<T>() }
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_f64(path: &Path, values: &[f64]) {
    fs::write(path, bytemuck::cast_slice::<f64, u8>(values)).unwrap();
}

#[test]
fn create_makes_a_zeroed_file_of_exact_size_and_maps_it_read_write() {
    let d = dir();
    let p = d.path().join("a.bin");
    let mut m = Mapping::create(&p, 80).unwrap();
    assert_eq!(m.len(), 80);
    assert_eq!(m.mode(), Mode::ReadWrite);
    assert!(read::<f64>(&m).unwrap().iter().all(|&v| v == 0.0));
    write::<f64>(&mut m).unwrap()[9] = 2.5;
    m.flush().unwrap();
    let bytes = fs::read(&p).unwrap();
    assert_eq!(bytes.len(), 80);
    assert_eq!(f64::from_le_bytes(bytes[72..80].try_into().unwrap()), 2.5);
}

#[cfg(unix)]
#[test]
fn created_files_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir();
    let p = d.path().join("a.bin");
    Mapping::create(&p, 8).unwrap();
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let q = d.path().join("b.bin");
    CreateOptions::new()
        .permissions(0o640)
        .create(&q, 8)
        .unwrap();
    assert_eq!(
        fs::metadata(&q).unwrap().permissions().mode() & 0o077,
        0o040
    );
}

#[test]
fn create_refuses_an_existing_file_and_leaves_it_alone() {
    let d = dir();
    let p = d.path().join("a.bin");
    fs::write(&p, b"keep me").unwrap();
    let err = Mapping::create(&p, 8).unwrap_err();
    assert_eq!(err.code(), "EEXIST");
    assert_eq!(err.path(), Some(p.as_path()));
    assert_eq!(err.syscall(), Some("open"));
    assert_eq!(fs::read(&p).unwrap(), b"keep me");
}

#[cfg(unix)]
#[test]
fn create_never_follows_a_planted_symlink() {
    let d = dir();
    let target = d.path().join("target");
    fs::write(&target, b"victim").unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(Mapping::create(&link, 8).unwrap_err().code(), "EEXIST");
    // Overwriting replaces the link itself, never the file it points to.
    CreateOptions::new()
        .overwrite(true)
        .create(&link, 4)
        .unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"victim");
    assert!(!fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[cfg(not(windows))]
#[test]
fn overwrite_replaces_without_disturbing_an_existing_mapping() {
    let d = dir();
    let p = d.path().join("a.bin");
    write_f64(&p, &[1.0, 2.0, 3.0, 4.0]);
    let old = OpenOptions::new().mode(Mode::ReadOnly).open(&p).unwrap();
    let new = CreateOptions::new().overwrite(true).create(&p, 8).unwrap();
    assert_eq!(new.len(), 8);
    assert_eq!(fs::metadata(&p).unwrap().len(), 8);
    // The old map still reads the old inode: no SIGBUS past the new, shorter end.
    assert_eq!(read::<f64>(&old).unwrap(), &[1.0, 2.0, 3.0, 4.0]);
    let leftovers: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

/// Windows cannot rename over a mapped file: the error says so and nothing changes.
#[cfg(windows)]
#[test]
fn overwrite_of_a_mapped_file_is_a_clear_error_on_windows() {
    let d = dir();
    let p = d.path().join("a.bin");
    write_f64(&p, &[1.0, 2.0, 3.0, 4.0]);
    let old = OpenOptions::new().mode(Mode::ReadOnly).open(&p).unwrap();
    let err = CreateOptions::new()
        .overwrite(true)
        .create(&p, 8)
        .unwrap_err();
    assert_eq!(err.code(), "EBUSY");
    assert!(err.detail().contains("still maps"), "{err}");
    assert_eq!(read::<f64>(&old).unwrap(), &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(fs::metadata(&p).unwrap().len(), 32);
    let leftovers: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    drop(old);
    let new = CreateOptions::new().overwrite(true).create(&p, 8).unwrap();
    assert_eq!(new.len(), 8);
}

#[test]
fn windows_of_a_mapping_see_the_same_file() {
    let d = dir();
    let p = d.path().join("a.bin");
    write_f64(&p, &[1.0, 2.0, 3.0, 4.0, 5.0]);
    for mode in [Mode::ReadOnly, Mode::ReadWrite] {
        let m = OpenOptions::new().mode(mode).offset(8).open(&p).unwrap();
        let mut w = m.window(16, 16).unwrap();
        assert_eq!(read::<f64>(&w).unwrap(), &[4.0, 5.0]);
        assert_eq!(w.mode(), mode);
        if mode == Mode::ReadWrite {
            write::<f64>(&mut w).unwrap()[0] = 9.0;
            assert_eq!(read::<f64>(&m).unwrap()[2], 9.0);
        }
        assert_eq!(m.window(32, 1).unwrap_err().code(), "ERR_MMAP_INVALID_ARG");
        assert!(m.window(32, 0).unwrap().is_empty());
    }
    let anon = Mapping::shared_anonymous(64).unwrap();
    assert_eq!(
        anon.window(0, 8).unwrap_err().code(),
        "ERR_MMAP_INVALID_ARG"
    );
}

#[cfg(windows)]
#[test]
fn named_regions_on_windows() {
    let name = format!("Local\\memmap-test-{}", std::process::id());
    let (region, mut a) = Mapping::create_region(&name, 1000).unwrap();
    assert_eq!(a.len(), 1000);
    write::<u8>(&mut a).unwrap()[999] = 7;
    assert_eq!(
        Mapping::create_region(&name, 8).unwrap_err().code(),
        "EEXIST"
    );
    let b = Mapping::open_region(&name, None).unwrap();
    assert_eq!(b.len(), 1000, "the exact size, not one rounded to pages");
    assert_eq!(read::<u8>(&b).unwrap()[999], 7);
    let e = Mapping::open_region(&name, Some(5000)).unwrap_err();
    assert_eq!(e.code(), "ERR_MMAP_SIZE_MISMATCH");
    drop((a, b));
    // The region outlives its maps while `region` holds it, and goes with the last holder.
    assert_eq!(Mapping::open_region(&name, Some(8)).unwrap().len(), 8);
    drop(region);
    assert_eq!(
        Mapping::open_region(&name, None).unwrap_err().code(),
        "ENOENT"
    );
}

#[test]
fn create_and_overwrite_refuse_directories() {
    let d = dir();
    assert_eq!(Mapping::create(d.path(), 8).unwrap_err().code(), "EEXIST");
    let err = CreateOptions::new()
        .overwrite(true)
        .create(d.path(), 8)
        .unwrap_err();
    assert_eq!(err.code(), "EISDIR");
}

#[test]
fn create_of_zero_bytes_is_an_empty_map() {
    let d = dir();
    let p = d.path().join("empty.bin");
    let mut m = Mapping::create(&p, 0).unwrap();
    assert!(m.is_empty());
    assert!(write::<f64>(&mut m).unwrap().is_empty());
    m.flush().unwrap();
    assert_eq!(fs::metadata(&p).unwrap().len(), 0);
}

#[test]
fn open_modes() {
    let d = dir();
    let p = d.path().join("a.bin");
    write_f64(&p, &[1.0, 2.0]);

    let mut rw = OpenOptions::new().mode(Mode::ReadWrite).open(&p).unwrap();
    let other = OpenOptions::new().mode(Mode::ReadOnly).open(&p).unwrap();
    write::<f64>(&mut rw).unwrap()[0] = 10.0;
    // Shared: a second mapping of the same file sees the write at once.
    assert_eq!(read::<f64>(&other).unwrap()[0], 10.0);
    rw.flush().unwrap();

    let mut cow = OpenOptions::new().mode(Mode::CopyOnWrite).open(&p).unwrap();
    write::<f64>(&mut cow).unwrap()[1] = 99.0;
    cow.flush().unwrap();
    assert_eq!(read::<f64>(&cow).unwrap()[1], 99.0);
    assert_eq!(read::<f64>(&other).unwrap()[1], 2.0);
    drop(cow);
    let bytes = fs::read(&p).unwrap();
    assert_eq!(bytemuck::pod_read_unaligned::<f64>(&bytes[8..16]), 2.0);

    let mut ro = OpenOptions::new().mode(Mode::ReadOnly).open(&p).unwrap();
    assert_eq!(
        write::<f64>(&mut ro).unwrap_err().code(),
        "ERR_MMAP_READONLY"
    );
    assert_eq!(ro.flush().unwrap_err().code(), "ERR_MMAP_READONLY");
    assert_eq!(ro.flush_async().unwrap_err().code(), "ERR_MMAP_READONLY");
}

#[test]
fn read_only_map_takes_a_raw_write_without_faulting_or_reaching_the_file() {
    let d = dir();
    let p = d.path().join("a.bin");
    write_f64(&p, &[1.0]);
    let ro = OpenOptions::new().mode(Mode::ReadOnly).open(&p).unwrap();
    // SAFETY: the map is 8 writable (private) bytes; this is the stray write JS can make.
    unsafe { ro.as_mut_ptr().cast::<f64>().write(5.0) };
    assert_eq!(read::<f64>(&ro).unwrap()[0], 5.0);
    assert_eq!(fs::read(&p).unwrap(), 1.0f64.to_le_bytes());
}

#[test]
fn open_with_offset_and_length() {
    let d = dir();
    let p = d.path().join("a.bin");
    write_f64(&p, &[0.0, 1.0, 2.0, 3.0, 4.0]);
    let m = OpenOptions::new().offset(8).len(24).open(&p).unwrap();
    assert_eq!(read::<f64>(&m).unwrap(), &[1.0, 2.0, 3.0]);
    let tail = OpenOptions::new().offset(16).open(&p).unwrap();
    assert_eq!(read::<f64>(&tail).unwrap(), &[2.0, 3.0, 4.0]);
    let at_end = OpenOptions::new().offset(40).open(&p).unwrap();
    assert!(at_end.is_empty());
    let populated = OpenOptions::new().populate(true).open(&p).unwrap();
    assert_eq!(populated.len(), 40);
}

#[test]
fn sizes_are_checked_against_the_file_before_mapping() {
    let d = dir();
    let p = d.path().join("a.bin");
    fs::write(&p, [0u8; 10]).unwrap();
    for (offset, len) in [(11, None), (0, Some(11)), (5, Some(6)), (1, Some(u64::MAX))] {
        let mut o = OpenOptions::new();
        o.offset(offset);
        if let Some(l) = len {
            o.len(l);
        }
        let err = o.open(&p).unwrap_err();
        assert_eq!(err.code(), "ERR_MMAP_SIZE_MISMATCH", "{offset} {len:?}");
        assert_eq!(err.path(), Some(p.as_path()));
    }
}

#[test]
fn typed_slices_check_alignment_and_whole_elements() {
    let d = dir();
    let p = d.path().join("a.bin");
    fs::write(&p, [0u8; 20]).unwrap();
    let m = OpenOptions::new().offset(4).open(&p).unwrap();
    assert_eq!(read::<f64>(&m).unwrap_err().code(), "ERR_MMAP_ALIGNMENT");
    assert_eq!(read::<u32>(&m).unwrap().len(), 4);
    let whole = OpenOptions::new().open(&p).unwrap();
    assert_eq!(
        read::<f64>(&whole).unwrap_err().code(),
        "ERR_MMAP_SIZE_MISMATCH"
    );
    assert_eq!(read::<u8>(&whole).unwrap().len(), 20);
}

#[test]
fn os_errors_keep_fs_codes_path_and_syscall() {
    let d = dir();
    let missing = d.path().join("missing.bin");
    let err = OpenOptions::new().open(&missing).unwrap_err();
    assert_eq!(err.code(), "ENOENT");
    assert_eq!(err.syscall(), Some("open"));
    assert_eq!(err.path(), Some(missing.as_path()));
    assert!(err.to_string().contains("missing.bin"));

    let err = OpenOptions::new()
        .mode(Mode::ReadOnly)
        .open(d.path())
        .unwrap_err();
    assert_eq!(err.code(), "EISDIR");
    let err = OpenOptions::new()
        .mode(Mode::ReadWrite)
        .open(d.path())
        .unwrap_err();
    assert_eq!(err.code(), "EISDIR");
}

#[cfg(unix)]
#[test]
fn devices_and_fifos_are_refused_without_blocking() {
    let err = OpenOptions::new()
        .mode(Mode::ReadOnly)
        .open("/dev/zero")
        .unwrap_err();
    assert_eq!(err.code(), "ERR_MMAP_INVALID_ARG");
    let d = dir();
    let fifo = d.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let err = OpenOptions::new()
        .mode(Mode::ReadOnly)
        .open(&fifo)
        .unwrap_err();
    assert_eq!(err.code(), "ERR_MMAP_INVALID_ARG");
    let sock = d.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    for mode in [Mode::ReadOnly, Mode::ReadWrite] {
        let err = OpenOptions::new().mode(mode).open(&sock).unwrap_err();
        assert_eq!(err.code(), "ERR_MMAP_INVALID_ARG", "a socket is not ENXIO");
    }
}

#[test]
fn flush_variants() {
    let d = dir();
    let p = d.path().join("a.bin");
    let mut m = Mapping::create(&p, 4096 * 3).unwrap();
    write::<u8>(&mut m).unwrap()[5000] = 7;
    m.flush_range(4096, 4096).unwrap();
    assert_eq!(fs::read(&p).unwrap()[5000], 7);
    m.flush_async().unwrap();
    m.flush_range(0, 0).unwrap();
    assert_eq!(
        m.flush_range(4096, 4097 * 2).unwrap_err().code(),
        "ERR_MMAP_INVALID_ARG"
    );
    assert_eq!(
        m.flush_range(usize::MAX, 2).unwrap_err().code(),
        "ERR_MMAP_INVALID_ARG"
    );
}

#[test]
fn advice_of_every_kind_keeps_contents() {
    let d = dir();
    let p = d.path().join("a.bin");
    let mut m = Mapping::create(&p, 4096 * 4).unwrap();
    write::<u8>(&mut m).unwrap()[100] = 9;
    for a in Advice::ALL {
        m.advise(a).unwrap();
        m.advise_range(a, 4096, 4096).unwrap();
    }
    // Shared pages dropped by DONTNEED come back from the page cache with the write.
    assert_eq!(read::<u8>(&m).unwrap()[100], 9);
    assert_eq!(
        m.advise_range(Advice::Normal, 0, 4096 * 5)
            .unwrap_err()
            .code(),
        "ERR_MMAP_INVALID_ARG"
    );

    // Copy-on-write pages hold this process's only copy of its writes: DONTNEED must not drop them.
    let mut cow = OpenOptions::new().mode(Mode::CopyOnWrite).open(&p).unwrap();
    write::<u8>(&mut cow).unwrap()[200] = 3;
    cow.advise(Advice::DontNeed).unwrap();
    assert_eq!(read::<u8>(&cow).unwrap()[200], 3);

    let empty = Mapping::create(d.path().join("e.bin"), 0).unwrap();
    empty.advise(Advice::WillNeed).unwrap();
}

#[test]
fn shared_anonymous_memory_is_zeroed_writable_and_shared() {
    let mut m = create_shared_buffer::<f64>(1000).unwrap();
    assert_eq!(m.len(), 8000);
    assert!(m.path().is_none());
    {
        let s = write::<f64>(&mut m).unwrap();
        assert!(s.iter().all(|&v| v == 0.0));
        for (i, v) in s.iter_mut().enumerate() {
            *v = i as f64;
        }
    }
    assert_eq!(read::<f64>(&m).unwrap()[999], 999.0);
    m.flush().unwrap();
    assert!(create_shared_buffer::<u8>(0).unwrap().is_empty());
    assert_eq!(
        create_shared_buffer::<f64>(usize::MAX).unwrap_err().code(),
        "ERR_MMAP_INVALID_ARG"
    );
}

#[cfg(unix)]
#[test]
fn shared_anonymous_memory_is_shared_with_a_forked_child() {
    let mut m = create_shared_buffer::<u64>(4).unwrap();
    // SAFETY: the child only writes to the shared map and exits with _exit, touching no
    // state of the (single-threaded at this point in the child) runtime.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: the map is 32 writable shared bytes, aligned for u64.
        unsafe {
            m.as_mut_ptr().cast::<u64>().add(3).write_volatile(0xfeed);
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for the child we just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(write::<u64>(&mut m).unwrap()[3], 0xfeed);
}

#[test]
fn sparse_files_past_4_gib_map_end_to_end() {
    let d = dir();
    let p = d.path().join("big.bin");
    let len: u64 = (5 << 30) + 8;
    {
        let mut m = Mapping::create(&p, len).unwrap();
        let s = write::<f64>(&mut m).unwrap();
        let last = s.len() - 1;
        s[last] = 42.0;
        m.flush().unwrap();
    }
    assert_eq!(fs::metadata(&p).unwrap().len(), len);
    let m = OpenOptions::new().mode(Mode::ReadOnly).open(&p).unwrap();
    assert_eq!(*read::<f64>(&m).unwrap().last().unwrap(), 42.0);
    // A window that starts past 4 GiB: 64-bit offsets end to end.
    let w = OpenOptions::new()
        .offset(len - 16)
        .len(16)
        .open(&p)
        .unwrap();
    assert_eq!(read::<f64>(&w).unwrap(), &[0.0, 42.0]);
}

#[test]
fn private_maps_of_files_larger_than_memory_open() {
    // 64 GiB on a machine with less: MAP_NORESERVE keeps a copy-on-write map from needing
    // swap for pages it never writes.
    let d = dir();
    let p = d.path().join("huge.bin");
    let f = File::create(&p).unwrap();
    f.set_len(64 << 30).unwrap();
    for mode in [Mode::ReadOnly, Mode::CopyOnWrite] {
        let opened = OpenOptions::new().mode(mode).open(&p);
        if cfg!(windows) {
            // Windows charges a private view against the commit limit for its whole size: the
            // map fails with an error that says why and what to do instead.
            let Err(e) = opened else { continue };
            assert_eq!(e.code(), "ENOMEM");
            assert!(e.detail().contains("commit limit"), "{e}");
            continue;
        }
        let m = opened.unwrap();
        assert_eq!(m.len(), 64 << 30);
        assert_eq!(read::<u8>(&m).unwrap()[(64 << 30) - 1], 0);
    }
}

#[test]
fn a_staged_file_appears_only_when_committed_and_dropping_it_leaves_nothing() {
    let d = dir();
    let p = d.path().join("staged.bin");
    let (map, pending) = CreateOptions::new().stage(&p, 8).unwrap();
    assert!(!p.exists(), "nothing at the path before commit");
    drop(map);
    drop(pending);
    assert_eq!(
        fs::read_dir(d.path()).unwrap().count(),
        0,
        "dropped: nothing left"
    );
    let (map, pending2) = CreateOptions::new().stage(&p, 8).unwrap();
    // SAFETY: the only map of the new file.
    unsafe { map.as_mut_ptr().write_bytes(7, 8) };
    let placed = pending2.commit(map).unwrap();
    assert_eq!(fs::read(&p).unwrap(), vec![7; 8]);
    assert_eq!(placed.path(), Some(p.as_path()));
    assert_eq!(
        fs::read_dir(d.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn commit_without_overwrite_never_replaces_an_entry_that_appeared_meanwhile() {
    let d = dir();
    let p = d.path().join("raced.bin");
    let (map, pending) = CreateOptions::new().stage(&p, 4).unwrap();
    fs::write(&p, b"theirs").unwrap();
    let err = pending.commit(map).unwrap_err();
    assert_eq!(err.code(), "EEXIST");
    assert_eq!(fs::read(&p).unwrap(), b"theirs");
    assert_eq!(
        fs::read_dir(d.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}
