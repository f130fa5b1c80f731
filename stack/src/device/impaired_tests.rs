//! Tests of the impaired device.

use super::*;
use crate::device::memory::MemoryLink;

fn frame(i: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(18)];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14..18].copy_from_slice(&i.to_be_bytes());
    f
}

fn id(f: &[u8]) -> u32 {
    u32::from_be_bytes(f[14..18].try_into().unwrap())
}

fn run(config: &ImpairmentConfig, seed: u64, n: u32) -> (Vec<(Instant, Vec<u8>)>, ImpairmentStats) {
    let mut imp = Impairment::new(config.clone(), seed);
    let mut out = Vec::new();
    for i in 0..n {
        imp.process(
            Instant::from_micros(u64::from(i) * 100),
            frame(i, 100),
            &mut out,
        );
    }
    (out, imp.stats())
}

#[test]
fn a_perfect_link_delivers_everything_at_once_in_order() {
    let config = ImpairmentConfig::default();
    assert!(config.is_perfect());
    let (out, stats) = run(&config, 1, 100);
    assert_eq!(out.len(), 100);
    for (i, (t, f)) in out.iter().enumerate() {
        assert_eq!(*t, Instant::from_micros(i as u64 * 100));
        assert_eq!(*f, frame(i as u32, 100));
    }
    assert_eq!(
        stats,
        ImpairmentStats {
            frames: 100,
            ..Default::default()
        }
    );
}

#[test]
fn validation_names_the_bad_value() {
    assert_eq!(ImpairmentConfig::default().validate(), Ok(()));
    let bad = ImpairmentConfig {
        loss: 1.5,
        ..Default::default()
    };
    assert_eq!(
        bad.validate(),
        Err("loss probability must be between 0 and 1, got 1.5".to_string())
    );
    let nan = ImpairmentConfig {
        corrupt: f64::NAN,
        ..Default::default()
    };
    assert!(nan.validate().unwrap_err().starts_with("corrupt"));
    let neg = ImpairmentConfig {
        reorder: -0.1,
        ..Default::default()
    };
    assert!(neg.validate().unwrap_err().starts_with("reorder"));
    let zero_rate = ImpairmentConfig {
        rate_bps: Some(0),
        ..Default::default()
    };
    assert!(zero_rate.validate().is_err());
    // `new` clamps instead of panicking.
    let imp = Impairment::new(bad, 0);
    assert_eq!(imp.config().loss, 1.0);
    let imp = Impairment::new(nan, 0);
    assert_eq!(imp.config().corrupt, 0.0);
}

#[test]
fn the_same_seed_gives_the_same_outputs() {
    let config = ImpairmentConfig {
        loss: 0.1,
        duplicate: 0.1,
        reorder: 0.1,
        corrupt: 0.1,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(2),
        rate_bps: Some(10_000_000),
    };
    let a = run(&config, 7, 2000);
    let b = run(&config, 7, 2000);
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    let c = run(&config, 8, 2000);
    assert_ne!(a.0, c.0);
}

#[test]
fn losses_do_not_depend_on_the_other_knobs() {
    let lossy = ImpairmentConfig {
        loss: 0.2,
        ..Default::default()
    };
    let busy = ImpairmentConfig {
        duplicate: 0.3,
        reorder: 0.3,
        jitter: Duration::from_millis(3),
        ..lossy.clone()
    };
    let survivors = |out: Vec<(Instant, Vec<u8>)>| {
        let mut ids: Vec<u32> = out.iter().map(|(_, f)| id(f)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    assert_eq!(
        survivors(run(&lossy, 3, 1000).0),
        survivors(run(&busy, 3, 1000).0)
    );
}

#[test]
fn loss_rate_is_roughly_as_configured() {
    let config = ImpairmentConfig {
        loss: 0.05,
        ..Default::default()
    };
    let (out, stats) = run(&config, 7, 10_000);
    let rate = stats.lost as f64 / 10_000.0;
    assert!((0.03..=0.07).contains(&rate), "loss rate {rate}");
    assert_eq!(out.len() as u64, 10_000 - stats.lost);
    assert_eq!(
        run(
            &ImpairmentConfig {
                loss: 1.0,
                ..Default::default()
            },
            1,
            100
        )
        .0
        .len(),
        0
    );
}

#[test]
fn duplicates_arrive_together() {
    let config = ImpairmentConfig {
        duplicate: 1.0,
        ..Default::default()
    };
    let (out, stats) = run(&config, 1, 10);
    assert_eq!(out.len(), 20);
    assert_eq!(stats.duplicated, 10);
    for pair in out.chunks(2) {
        assert_eq!(pair[0], pair[1]);
    }
    let config = ImpairmentConfig {
        duplicate: 0.25,
        ..Default::default()
    };
    let (out, stats) = run(&config, 1, 10_000);
    assert_eq!(out.len() as u64, 10_000 + stats.duplicated);
    assert!(
        (2000..3000).contains(&stats.duplicated),
        "{}",
        stats.duplicated
    );
}

#[test]
fn corruption_flips_exactly_one_bit_past_the_ethernet_header() {
    let config = ImpairmentConfig {
        corrupt: 1.0,
        ..Default::default()
    };
    let mut imp = Impairment::new(config, 11);
    let mut touched = std::collections::HashSet::new();
    for i in 0..1000u32 {
        let original: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37) ^ i as u8).collect();
        let mut out = Vec::new();
        imp.process(Instant::ZERO, original.clone(), &mut out);
        let (_, corrupted) = &out[0];
        let diffs: Vec<usize> = (0..64).filter(|&k| original[k] != corrupted[k]).collect();
        assert_eq!(diffs.len(), 1);
        let k = diffs[0];
        assert!(k >= ETHERNET_HEADER_LEN);
        assert_eq!((original[k] ^ corrupted[k]).count_ones(), 1);
        touched.insert(k);
    }
    // Spread over the whole payload, including the last byte.
    assert!(touched.contains(&ETHERNET_HEADER_LEN) && touched.contains(&63));
    assert_eq!(imp.stats().corrupted, 1000);
    // A frame with nothing past the header is delivered unchanged.
    let mut out = Vec::new();
    imp.process(Instant::ZERO, vec![7; 14], &mut out);
    assert_eq!(out, vec![(Instant::ZERO, vec![7; 14])]);
    assert_eq!(imp.stats().corrupted, 1000);
}

#[test]
fn a_reordered_frame_is_overtaken_by_the_next_or_released_after_the_hold() {
    let config = ImpairmentConfig {
        reorder: 1.0,
        ..Default::default()
    };
    let mut imp = Impairment::new(config, 5);
    let mut out = Vec::new();
    let t = Instant::from_secs(1);
    imp.process(t, frame(1, 60), &mut out);
    assert_eq!(out[0].0, t + REORDER_HOLD);

    // Reorder only the first of two back-to-back frames.
    let config = ImpairmentConfig {
        reorder: 0.5,
        ..Default::default()
    };
    let mut seed = 0;
    let (first, second) = loop {
        let mut imp = Impairment::new(config.clone(), seed);
        let mut out = Vec::new();
        imp.process(t, frame(1, 60), &mut out);
        imp.process(t + Duration::from_micros(100), frame(2, 60), &mut out);
        if imp.stats().reordered == 1 && out[0].0 > out[1].0 {
            break (out[0].clone(), out[1].clone());
        }
        seed += 1;
    };
    let mut queue = DelayQueue::new();
    queue.push(first.0, first.1);
    queue.push(second.0, second.1);
    let released: Vec<u32> = std::iter::from_fn(|| queue.pop_due(Instant::from_secs(2)))
        .map(|f| id(&f))
        .collect();
    assert_eq!(released, vec![2, 1]);

    // Jitter alone never reorders.
    let config = ImpairmentConfig {
        jitter: Duration::from_millis(10),
        ..Default::default()
    };
    let (out, _) = run(&config, 9, 1000);
    assert!(out.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(out
        .iter()
        .any(|(t, f)| *t > Instant::from_micros(u64::from(id(f)) * 100)));
}

#[test]
fn delay_and_jitter_bound_the_latency() {
    let config = ImpairmentConfig {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        ..Default::default()
    };
    let mut imp = Impairment::new(config, 4);
    let mut out = Vec::new();
    for i in 0..1000u64 {
        // Spaced wider than the jitter, so the FIFO rule never kicks in.
        imp.process(Instant::from_millis(i * 10), frame(i as u32, 60), &mut out);
    }
    for (i, (t, _)) in out.iter().enumerate() {
        let latency = *t - Instant::from_millis(i as u64 * 10);
        assert!(latency >= Duration::from_millis(20) && latency <= Duration::from_millis(25));
    }
    let spread: std::collections::HashSet<_> = out
        .iter()
        .enumerate()
        .map(|(i, (t, _))| *t - Instant::from_millis(i as u64 * 10))
        .collect();
    assert!(spread.len() > 100);
}

#[test]
fn a_rate_limit_serialises_frames() {
    // 1 Mbit/s: a 125-byte frame takes 1 ms.
    let config = ImpairmentConfig {
        rate_bps: Some(1_000_000),
        ..Default::default()
    };
    let mut imp = Impairment::new(config, 0);
    let mut out = Vec::new();
    for i in 0..3 {
        imp.process(Instant::from_millis(10), frame(i, 125), &mut out);
    }
    // An idle link again: starts at arrival.
    imp.process(Instant::from_millis(50), frame(3, 250), &mut out);
    let times: Vec<Instant> = out.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        vec![
            Instant::from_millis(11),
            Instant::from_millis(12),
            Instant::from_millis(13),
            Instant::from_millis(52)
        ]
    );
    // With delay: serialisation first, then propagation.
    let config = ImpairmentConfig {
        rate_bps: Some(8_000_000),
        delay: Duration::from_millis(1),
        ..Default::default()
    };
    let mut imp = Impairment::new(config, 0);
    let mut out = Vec::new();
    imp.process(Instant::ZERO, frame(0, 1000), &mut out);
    imp.process(Instant::ZERO, frame(1, 1000), &mut out);
    assert_eq!(out[0].0, Instant::from_micros(2000));
    assert_eq!(out[1].0, Instant::from_micros(3000));
}

#[test]
fn delay_queue_releases_in_time_order_fifo_on_ties() {
    let mut q = DelayQueue::new();
    q.push(Instant::from_millis(5), vec![1]);
    q.push(Instant::from_millis(3), vec![2]);
    q.push(Instant::from_millis(5), vec![3]);
    assert_eq!(q.next_release(), Some(Instant::from_millis(3)));
    assert_eq!(q.pop_due(Instant::from_millis(2)), None);
    assert_eq!(q.pop_due(Instant::from_millis(5)), Some(vec![2]));
    assert_eq!(q.pop_due(Instant::from_millis(5)), Some(vec![1]));
    assert_eq!(q.pop_due(Instant::from_millis(5)), Some(vec![3]));
    assert!(q.is_empty());
}

#[test]
fn the_device_delays_both_directions_and_reports_poll_at() {
    let (a, mut b) = MemoryLink::pair(1500);
    let config = ImpairmentConfig {
        delay: Duration::from_millis(10),
        ..Default::default()
    };
    let mut dev = ImpairedDevice::new(a, config, 7);
    let mut buf = [0u8; 1600];
    let t0 = Instant::from_secs(1);

    dev.transmit(&frame(1, 60), t0).unwrap();
    assert_eq!(dev.poll_at(), Some(t0 + Duration::from_millis(10)));
    assert_eq!(b.receive(&mut buf, t0).unwrap(), None);
    // Not yet due at 9 ms; pushed to the link by any call at 10 ms.
    assert_eq!(
        dev.receive(&mut buf, t0 + Duration::from_millis(9))
            .unwrap(),
        None
    );
    assert_eq!(b.receive(&mut buf, t0).unwrap(), None);
    assert_eq!(
        dev.receive(&mut buf, t0 + Duration::from_millis(10))
            .unwrap(),
        None
    );
    assert_eq!(b.receive(&mut buf, t0).unwrap(), Some(60));
    assert_eq!(dev.poll_at(), None);

    b.transmit(&frame(2, 80), t0).unwrap();
    let t1 = t0 + Duration::from_millis(20);
    assert_eq!(dev.receive(&mut buf, t1).unwrap(), None);
    assert_eq!(dev.poll_at(), Some(t1 + Duration::from_millis(10)));
    assert_eq!(
        dev.receive(&mut buf, t1 + Duration::from_millis(10))
            .unwrap(),
        Some(80)
    );
    assert_eq!(id(&buf), 2);
    assert_eq!(dev.tx_stats().frames, 1);
    assert_eq!(dev.rx_stats().frames, 1);
}

#[test]
fn wait_does_not_sleep_past_the_next_release() {
    let (a, _b) = MemoryLink::pair(1500);
    let config = ImpairmentConfig {
        delay: Duration::from_millis(30),
        ..Default::default()
    };
    let mut dev = ImpairedDevice::new(a, config, 1);
    let start = std::time::Instant::now();
    dev.transmit(&frame(1, 60), Instant::ZERO).unwrap();
    dev.wait(Some(Duration::from_secs(10))).unwrap();
    let waited = start.elapsed();
    // Woken by the release, not by the timeout.
    assert!(waited >= std::time::Duration::from_millis(29), "{waited:?}");
    assert!(waited < std::time::Duration::from_secs(10), "{waited:?}");
}

#[test]
fn the_device_loses_with_the_configured_seed_and_bounds_its_queues() {
    let count = |seed| {
        let (a, mut b) = MemoryLink::pair(1500);
        let config = ImpairmentConfig {
            loss: 0.5,
            ..Default::default()
        };
        let mut dev = ImpairedDevice::new(a, config, seed);
        for i in 0..100 {
            dev.transmit(&frame(i, 60), Instant::ZERO).unwrap();
        }
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while b.receive(&mut buf, Instant::ZERO).unwrap().is_some() {
            got.push(id(&buf));
        }
        assert_eq!(got.len() as u64, 100 - dev.tx_stats().lost);
        got
    };
    assert_eq!(count(7), count(7));
    assert_ne!(count(7), count(8));

    let (a, _b) = MemoryLink::pair(1500);
    let config = ImpairmentConfig {
        delay: Duration::from_secs(1),
        ..Default::default()
    };
    let mut dev = ImpairedDevice::new(a, config, 0);
    dev.set_queue_limit(10);
    for i in 0..15 {
        dev.transmit(&frame(i, 60), Instant::ZERO).unwrap();
    }
    assert_eq!(dev.queue_dropped(), 5);
}
