//! `netstack bench --loss`: goodput under kernel-side nftables loss, our
//! stack next to smoltcp and Linux over a veth pair.

use super::*;

/// `--loss`: for each loss rate, place and direction, our stack, smoltcp and Linux
/// over a veth pair, in that order, on the same kernel-side client.
pub(super) fn run_lossy(o: &BenchOpts) -> Result<(), String> {
    use bench::lossy::{
        self, Causes, LinuxCauses, LossWhere, Veth, VETH_CLIENT_IF, VETH_SERVER_IF,
    };
    if o.loss_where.is_empty() {
        return Err("--loss-where needs at least one place".into());
    }
    let mac = o
        .mac
        .unwrap_or_else(|| stack::StackConfig::new(o.addr.0, o.addr.1).mac)
        .0;
    let buffer = o.buffers.iter().copied().max().unwrap_or(1 << 20) as usize;
    let timeout = Duration::from_secs(o.timeout.max(1));
    bench::linux::use_congestion(&o.kernel_cc)?;
    let veth = Veth::new(o.mtu, Some(&o.kernel_cc))?;
    let sack = o.kernel_sack == OnOff::On;
    for ns in [None, Some(veth.server.as_str()), Some(veth.client.as_str())] {
        lossy::set_kernel_sack(ns, sack)?;
    }
    let dirs: Vec<Dir> = Dir::ALL
        .into_iter()
        .filter(|d| o.directions.iter().any(|a| a.dir() == *d))
        .collect();
    type Row = (
        Dir,
        f64,
        lossy::LossWhere,
        Cell,
        Cell,
        Cell,
        Option<(Causes, LinuxCauses)>,
        Option<LinuxCauses>,
    );
    let mut rows: Vec<Row> = Vec::new();
    let mut failures = Vec::new();
    eprintln!(
        "Lossy link: TAP {} and a veth pair at MTU {}, {} per transfer ({} for smoltcp), buffers {}",
        o.tap,
        o.mtu,
        format_size(o.loss_bytes),
        format_size(o.loss_bytes_smoltcp),
        format_size(buffer as u64)
    );
    for &dir in &dirs {
        for &p in &o.loss {
            for &at in &o.loss_where {
                // What the kernel sends is lost at the receiver: for data the
                // kernel sends (our stack receives), by the stack's own device and
                // at the Linux server's input, since a drop on the kernel's output
                // hook only makes its TCP send the segment again later.
                let (nft_at, data_in) = match (dir, at) {
                    (Dir::Recv, LossWhere::Both) => (Some(LossWhere::ToKernel), true),
                    (Dir::Recv, LossWhere::FromKernel) => (None, true),
                    (_, at) => (Some(at), false),
                };
                let inbound_loss = if data_in { p / 100.0 } else { 0.0 };
                let run = |bytes| TapRun {
                    tap: o.tap.clone(),
                    addr: o.addr,
                    mac,
                    mtu: o.mtu,
                    buffer,
                    bytes,
                    dir,
                    timeout,
                    offload: o.offload,
                    inbound_loss,
                };
                let label = format!("{:<14} {p:>4} % {:<16}", dir.label(), at.label());
                if let Some(at) = nft_at {
                    lossy::set_loss(None, &o.tap, p, at)?;
                }
                let ours = lossy::ours(&run(o.loss_bytes));
                let smol = bench::smol::run_tap(&run(o.loss_bytes_smoltcp));
                lossy::clear_loss(None);
                if let Some(at) = nft_at {
                    lossy::set_loss(Some(&veth.client), VETH_CLIENT_IF, p, at)?;
                }
                if data_in {
                    lossy::set_loss(Some(&veth.server), VETH_SERVER_IF, p, LossWhere::ToKernel)?;
                }
                let linux = veth.run_counted(dir, o.loss_bytes, bench::ours::STALL);
                lossy::clear_loss(Some(&veth.client));
                lossy::clear_loss(Some(&veth.server));
                let (ours, causes) = match ours {
                    // When our stack receives, the kernel here is the sender.
                    Ok((t, c, k)) => (Ok(t), Some((c, k))),
                    Err(e) => (Err(e), None),
                };
                let (linux, linux_causes) = match linux {
                    Ok((t, c)) => (Ok(t), Some(c)),
                    Err(e) => (Err(e), None),
                };
                for (who, c) in [("ours", &ours), ("smoltcp", &smol), ("linux", &linux)] {
                    progress(&format!("{label} {who:<8}"), c);
                    if let Err(e) = c {
                        failures.push(format!("{label} {who}: {e}"));
                    }
                }
                rows.push((dir, p, at, ours, smol, linux, causes, linux_causes));
            }
        }
    }
    drop(veth);
    let mut out = format!(
        "netstack bench --loss: goodput in Gbit/s at the receiver, nftables loss on the \
         kernel side, kernel SACK {}, kernel congestion control {}\n(ours and Linux {} per transfer, smoltcp {}; \
         retransmissions of ours by cause: fast recovery/RACK/TLP probes/timeout;\n\
         the kernel's from its counters: fast recovery with RACK/TLP probes/timeouts of all)\n",
        if sack { "on" } else { "off" },
        o.kernel_cc,
        format_size(o.loss_bytes),
        format_size(o.loss_bytes_smoltcp)
    );
    for &dir in &dirs {
        out.push_str(&format!("\n{}\n", dir.label()));
        let mut t = Table::new(&[
            "loss",
            "where",
            "ours",
            "smoltcp",
            "Linux veth",
            "ours/Linux",
            "ours/smoltcp",
            match dir {
                Dir::Send => "ours retransmissions",
                Dir::Recv => "kernel sender's (TAP)",
            },
            "Linux retransmissions",
        ]);
        for r in rows.iter().filter(|r| r.0 == dir) {
            let g = |c: &Cell| c.as_ref().ok().map(|t| t.gbps());
            t.row(vec![
                format!("{} %", r.1),
                r.2.label().into(),
                gbps(&r.3),
                gbps(&r.4),
                gbps(&r.5),
                ratio(g(&r.3), g(&r.5)),
                ratio(g(&r.3), g(&r.4)),
                r.6.map_or("-".into(), |(ours, kernel)| match dir {
                    Dir::Send => ours.render(),
                    Dir::Recv => kernel.render(),
                }),
                r.7.map_or("-".into(), |c| c.render()),
            ]);
        }
        out.push_str(&t.render());
    }
    finish(&out, &failures)
}
