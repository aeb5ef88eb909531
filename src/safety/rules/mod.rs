//! The rule catalogue and the plumbing shared by all rule files.
//!
//! Why this exists: each category file (filesystem, disk, system, network,
//! secrets, vcs, cloud, database, packages, obfuscation) declares its rules
//! as constants and one `check` function that looks at the unwrapped commands
//! of a parsed script. This file only declares them, runs them all over a
//! script and lists their rules; the plumbing they share (what a rule sees,
//! where findings go, where a command writes) is in `kit.rs`, below every
//! category, so no category file imports this one.

pub(crate) mod cloud;
pub(crate) mod computed;
pub(crate) mod database;
pub(crate) mod disk;
pub(crate) mod exfil;
pub(crate) mod filesystem;
pub(crate) mod flow;
pub(crate) mod interp;
pub(crate) mod kit;
pub(crate) mod network;
pub(crate) mod obfuscation;
pub(crate) mod outage;
pub(crate) mod packages;
pub(crate) mod persist;
pub(crate) mod secrets;
pub(crate) mod staged;
pub(crate) mod system;
pub(crate) mod vcs;

use crate::safety::types::Rule;
use flow::write_targets;
use kit::{Cx, Out};

/// Runs every category over a parsed script.
pub(crate) fn check_all(cx: &Cx, out: &mut Out) {
    for c in cx.cmds() {
        // A function the line calls is judged at each call, with its
        // arguments; its body as written leaves their values to those.
        let suppress = out.suppress_values;
        out.suppress_values |= c.in_called_function;
        computed::check(c, cx, out);
        interp::check(c, cx, out);
        filesystem::check(c, cx, out);
        disk::check(c, cx, out);
        system::check(c, cx, out);
        network::check(c, cx, out);
        secrets::check(c, cx, out);
        vcs::check(c, cx, out);
        cloud::check(c, cx, out);
        database::check(c, cx, out);
        packages::check(c, cx, out);
        obfuscation::check(c, cx, out);
        exfil::check(c, cx, out);
        staged::check(c, cx, out);
        outage::check(c, cx, out);
        out.suppress_values = suppress;
    }
    // Writes into places read later (startup files, cron, /proc/sys) or
    // onto a socket are judged with the line's data flow; ordinary writes
    // (`> out.txt`, `tar czf x.tgz dir`) need none.
    let mut flows = false;
    for idx in 0..cx.script.commands.len() {
        for t in write_targets(&cx.line(), idx) {
            filesystem::check_write(&t, idx, cx, out);
            secrets::check_write(&t, cx, out);
            disk::check_write(&t, cx, out);
            system::check_write(&t, idx, cx, out);
            let p = &t.resolved;
            flows |= persist::place_of(p).is_some()
                || p.starts_with("/dev/tcp/")
                || p.starts_with("/dev/udp/")
                || p.starts_with("/proc/sys/");
        }
    }
    system::check_script(cx, out);
    network::check_script(cx, out);
    if flows || cx.cmds().any(|c| persist::schedules(&c.name)) {
        persist::check_script(cx, out);
    }
    if flows {
        exfil::check_script(cx, out);
        outage::check_proc_sys(cx, out);
    }
    outage::check_loops(cx, out);
}

/// Code the line sets up to run later or writes and then runs (a cron line,
/// a startup file's new line, a script written from a here-document), for
/// the walk to judge as the script it is.
pub(crate) fn later_code(cx: &Cx) -> Vec<crate::safety::unwrapped::Body> {
    // Without a data flow (nothing written or scheduled), persistence has
    // nothing to hand back.
    let mut v = if cx.flow.get().is_some() {
        persist::later_code(cx)
    } else {
        Vec::new()
    };
    v.extend(staged::written_scripts(cx));
    v
}

/// The catalogue of every category (the request rules are added by
/// `safety::rules()`, above both).
pub(crate) fn all_rules() -> Vec<Rule> {
    let mut v = Vec::new();
    for group in [
        computed::RULES,
        interp::RULES,
        filesystem::RULES,
        disk::RULES,
        system::RULES,
        network::RULES,
        secrets::RULES,
        vcs::RULES,
        cloud::RULES,
        database::RULES,
        packages::RULES,
        obfuscation::RULES,
        persist::RULES,
        exfil::RULES,
        staged::RULES,
        outage::RULES,
    ] {
        v.extend_from_slice(group);
    }
    v
}
