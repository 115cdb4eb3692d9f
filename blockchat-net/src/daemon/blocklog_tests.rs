use super::*;

fn v1_record(payload: &[u8]) -> Vec<u8> {
    let mut r = (payload.len() as u32).to_be_bytes().to_vec();
    r.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

fn blocks(n: u64) -> Vec<Block> {
    let keys: Vec<_> = (0..3).map(|i| blockchat_core::Wallet::from_seed(i).address()).collect();
    (1..=n)
        .map(|ts| {
            let mut g = blockchat_core::Genesis::course(blockchat_core::NetworkParams::new(1), &keys, 10);
            g.timestamp = blockchat_core::Time(ts);
            g.block().unwrap()
        })
        .collect()
}

#[test]
fn scan_table() {
    let a = record(b"first");
    let b = record(b"second!");
    let log: Vec<u8> = [MAGIC.to_vec(), a.clone(), b.clone()].concat();
    let (m, al) = (MAGIC.len(), a.len());
    let flip = |at: usize, bit: u8| {
        let mut l = log.clone();
        l[at] ^= bit;
        l
    };
    // A length of 2^31 with a matching checksum: well-formed, but over the limit.
    let huge = {
        let len = (1u32 << 31).to_be_bytes();
        [MAGIC.to_vec(), len.to_vec(), crc32fast::hash(&len).to_be_bytes().to_vec(), vec![0; 4]].concat()
    };
    // (name, bytes, Ok(records kept, valid length) or Err(record, offset, damage)).
    type Want = Result<(usize, usize), (usize, u64, Damage)>;
    let cases: Vec<(&str, Vec<u8>, Want)> = vec![
        ("empty file", vec![], Ok((0, 0))),
        ("header only", MAGIC.to_vec(), Ok((0, m))),
        ("torn header write", MAGIC[..3].to_vec(), Ok((0, 0))),
        ("two records", log.clone(), Ok((2, log.len()))),
        ("torn payload", log[..log.len() - 3].to_vec(), Ok((1, m + al))),
        ("torn record header", log[..m + al + 5].to_vec(), Ok((1, m + al))),
        ("zeros after a crash", [log.clone(), vec![0; 40]].concat(), Ok((2, log.len()))),
        ("last payload byte flipped", flip(log.len() - 1, 1), Ok((1, m + al))),
        ("length of the first record flipped", flip(m + 3, 0x10), Err((0, m as u64, Damage::Length))),
        ("high length bit flipped", flip(m, 0x80), Err((0, m as u64, Damage::Length))),
        ("length of the last record flipped", flip(m + al + 2, 1), Err((1, (m + al) as u64, Damage::Length))),
        ("first payload flipped", flip(m + al - 1, 1), Err((0, m as u64, Damage::Payload))),
        ("length over the limit", huge, Err((0, m as u64, Damage::TooLong { length: 1 << 31 }))),
        ("not a log", b"hello, world".to_vec(), Err((0, 0, Damage::Unrecognised))),
        ("a few stray bytes", b"hi".to_vec(), Err((0, 0, Damage::Unrecognised))),
    ];
    for (name, bytes, want) in cases {
        let got = scan(&bytes).map(|s| (s.records.len(), s.valid_len)).map_err(|d| (d.record, d.offset, d.damage));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_torn_final_record_is_cut_off_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocks.log");
    let b = blocks(5);
    {
        let (mut log, rec) = BlockLog::open(&path, true).unwrap();
        assert!(rec.blocks.is_empty());
        for block in &b[..3] {
            log.append(block).unwrap();
        }
        log.truncate_from(3).unwrap();
        log.append(&b[3]).unwrap();
    }
    let intact = fs::metadata(&path).unwrap().len();
    // A crash in the middle of the next append.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&record(&b[4].encode())[..50]).unwrap();
    drop(f);
    let (mut log, rec) = BlockLog::open(&path, true).unwrap();
    assert_eq!((rec.torn_bytes, rec.converted), (50, false));
    assert_eq!(rec.blocks, vec![b[0].clone(), b[1].clone(), b[3].clone()]);
    assert_eq!(log.height(), 3);
    assert_eq!(fs::metadata(&path).unwrap().len(), intact);
    log.append(&b[4]).unwrap();
    drop(log);
    assert_eq!(BlockLog::open(&path, true).unwrap().1.blocks.len(), 4);
}

#[test]
fn a_flipped_length_in_the_middle_stops_the_node_and_repair_keeps_what_precedes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocks.log");
    let b = blocks(6);
    {
        let (mut log, _) = BlockLog::open(&path, true).unwrap();
        for block in &b {
            log.append(block).unwrap();
        }
    }
    let original = fs::read(&path).unwrap();
    let third = MAGIC.len() + 2 * (HEADER + b[0].encoded_len());
    let mut bytes = original.clone();
    bytes[third + 1] ^= 0x04;
    fs::write(&path, &bytes).unwrap();
    let err = BlockLog::open(&path, true).unwrap_err();
    assert!(
        matches!(err, StorageError::Corrupt { record: 2, offset, damage: Damage::Length, .. } if offset == third as u64),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("record 2 (block 3)") && text.contains("blockchat repair --data-dir"), "{text}");
    // Nothing was cut by the refusal.
    assert_eq!(fs::read(&path).unwrap(), bytes);
    let repaired = repair(&path).unwrap();
    let copy = path.with_extension("log.damaged");
    assert_eq!(
        repaired,
        Repair::Cut {
            kept: 2,
            damaged: Damaged { record: 2, offset: third as u64, damage: Damage::Length },
            removed: (bytes.len() - third) as u64,
            copy: copy.clone(),
        }
    );
    assert_eq!(fs::read(&copy).unwrap(), bytes);
    let (_, rec) = BlockLog::open(&path, true).unwrap();
    assert_eq!(rec.blocks, b[..2].to_vec());
    assert_eq!(repair(&path).unwrap(), Repair::Intact { blocks: 2 });
}

#[test]
fn a_format_1_log_is_converted_without_losing_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocks.log");
    let b = blocks(3);
    let old: Vec<u8> = b.iter().flat_map(|x| v1_record(&x.encode())).collect();
    fs::write(&path, [old, vec![1, 2, 3]].concat()).unwrap();
    let (mut log, rec) = BlockLog::open(&path, true).unwrap();
    assert!(rec.converted);
    assert_eq!(rec.blocks, b);
    assert!(fs::read(&path).unwrap().starts_with(&MAGIC));
    log.truncate_from(3).unwrap();
    drop(log);
    assert_eq!(BlockLog::open(&path, true).unwrap().1.blocks, b[..2].to_vec());
}

#[test]
fn blocks_written_in_a_row_and_synced_once_are_all_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocks.log");
    let bs = blocks(3);
    let (mut log, _) = BlockLog::open(&path, true).unwrap();
    log.append(&bs[0]).unwrap();
    log.write(&bs[1]).unwrap();
    log.write(&bs[2]).unwrap();
    assert_eq!(log.height(), 3);
    log.sync().unwrap();
    drop(log);
    let (log, recovered) = BlockLog::open(&path, true).unwrap();
    assert_eq!((log.height(), recovered.blocks, recovered.torn_bytes), (3, bs, 0));
}
