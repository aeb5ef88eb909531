//! Disk and partition rules: raw writes, formatting, wiping and repartitioning.
//!
//! Why this exists: a single `dd of=/dev/sda` or `mkfs /dev/sdb1` erases a
//! whole disk with no undo. These rules look for block devices (Linux
//! `/dev/sdX`, `/dev/nvme0n1`, macOS/BSD `/dev/disk2`, `/dev/ada0`) as the
//! target of writers and disk tools, and stay quiet for image files
//! (`dd of=./disk.img`) and read-only uses (`fdisk -l`, `wipefs /dev/sda`).

use crate::safety::lower::opts;
use crate::safety::parse::RedirOp;
use crate::safety::path_kind::is_block_device;
use crate::safety::rules::kit::{Cx, Out, WriteTarget};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;

const CAT: &str = "disk";

pub(crate) const DD_DEVICE: Rule = rule(
    "disk.dd_device",
    Critical,
    CAT,
    "writes raw data over a disk device, destroying its partitions and files",
);
pub(crate) const WRITE_DEVICE: Rule = rule(
    "disk.write_device",
    Critical,
    CAT,
    "overwrites a disk device directly, destroying its partitions and files",
);
pub(crate) const MKFS: Rule = rule(
    "disk.mkfs",
    Critical,
    CAT,
    "formats a disk or partition, erasing everything on it",
);
pub(crate) const MKSWAP: Rule = rule(
    "disk.mkswap",
    Critical,
    CAT,
    "turns a disk or partition into swap space, erasing what is on it",
);
pub(crate) const WIPEFS: Rule = rule(
    "disk.wipefs",
    Critical,
    CAT,
    "erases the file system and partition signatures of a disk, making its data unreachable",
);
pub(crate) const PARTITION_WRITE: Rule = rule(
    "disk.partition_write",
    Critical,
    CAT,
    "rewrites or deletes a disk's partition table, which makes the data on it unreachable",
);
pub(crate) const PARTITION_INTERACTIVE: Rule = rule(
    "disk.partition_interactive",
    High,
    CAT,
    "opens a partition editor on a whole disk, where one wrong keystroke destroys its data",
);
pub(crate) const SHRED_DEVICE: Rule = rule(
    "disk.shred_device",
    Critical,
    CAT,
    "overwrites a whole disk with random data, destroying everything on it",
);
pub(crate) const BLKDISCARD: Rule = rule(
    "disk.blkdiscard",
    Critical,
    CAT,
    "discards every block of a disk, erasing it instantly",
);
pub(crate) const DISKUTIL_ERASE: Rule = rule(
    "disk.diskutil_erase",
    Critical,
    CAT,
    "erases or repartitions a whole disk with macOS diskutil",
);
pub(crate) const CRYPT_FORMAT: Rule = rule(
    "disk.crypt_format",
    Critical,
    CAT,
    "formats a disk for encryption or erases its keys, destroying its current contents",
);
pub(crate) const HDPARM_ERASE: Rule = rule(
    "disk.hdparm_erase",
    Critical,
    CAT,
    "sends a low-level erase or sector-write command to a disk",
);
pub(crate) const LVM_REMOVE: Rule = rule(
    "disk.lvm_remove",
    High,
    CAT,
    "removes LVM volumes or volume groups together with the data in them",
);
pub(crate) const RAID_ZERO: Rule = rule(
    "disk.raid_zero_superblock",
    High,
    CAT,
    "erases the RAID metadata of a disk, which can break the array",
);
pub(crate) const ZFS_DESTROY: Rule = rule(
    "disk.zfs_destroy",
    High,
    CAT,
    "destroys a ZFS pool or dataset and all the data in it",
);
pub(crate) const IMAGE_WRITER: Rule = rule(
    "disk.image_writer",
    Critical,
    CAT,
    "writes an installer image over a whole disk, erasing it",
);
pub(crate) const BADBLOCKS_WRITE: Rule = rule(
    "disk.badblocks_write",
    Critical,
    CAT,
    "runs a destructive write test that overwrites the whole disk",
);
pub(crate) const FIRMWARE_WRITE: Rule = rule(
    "disk.firmware_write",
    Critical,
    CAT,
    "rewrites the computer's firmware chip; a bad image leaves it unable to start",
);

pub(crate) const RULES: &[Rule] = &[
    DD_DEVICE,
    WRITE_DEVICE,
    MKFS,
    MKSWAP,
    WIPEFS,
    PARTITION_WRITE,
    PARTITION_INTERACTIVE,
    SHRED_DEVICE,
    BLKDISCARD,
    DISKUTIL_ERASE,
    CRYPT_FORMAT,
    HDPARM_ERASE,
    LVM_REMOVE,
    RAID_ZERO,
    ZFS_DESTROY,
    IMAGE_WRITER,
    BADBLOCKS_WRITE,
    FIRMWARE_WRITE,
];

fn device_operands(c: &Cmd) -> impl Iterator<Item = &crate::safety::parse::Word> {
    c.args.iter().filter(|w| is_block_device(&w.text))
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let name = c.name.as_str();
    let first_dev = || device_operands(c).next().map(|w| w.span.clone());
    match name {
        "dd" | "dcfldd" | "dc3dd" => {
            for w in &c.args {
                if let Some(of) = w.text.strip_prefix("of=") {
                    if is_block_device(of) {
                        out.add(&DD_DEVICE, w.span.clone());
                    }
                }
            }
        }
        n if n == "mkfs"
            || n.starts_with("mkfs.")
            || n.starts_with("mke2fs")
            || n == "newfs"
            || n.starts_with("newfs_")
            || n == "mkdosfs"
            || n == "mkntfs"
            || n == "mformat" =>
        {
            if let Some(s) = first_dev() {
                out.add(&MKFS, s);
            }
        }
        "mkswap" => {
            if let Some(s) = first_dev() {
                out.add(&MKSWAP, s);
            }
        }
        "wipefs" => {
            let o = opts(&c.args, "ottp", &["offset", "types"]);
            let acts = (o.has('a') || o.has_long("all") || o.has('o') || o.has_long("offset"))
                && !(o.has('n') || o.has_long("no-act"));
            if acts {
                if let Some(s) = first_dev() {
                    out.add(&WIPEFS, s);
                }
            }
        }
        "sgdisk" | "sfdisk" | "parted" | "fdisk" | "gdisk" | "cfdisk" | "cgdisk" | "gpart" => {
            if let Some(s) = first_dev() {
                partition_tool(c, cx, s, out);
            }
        }
        "shred" | "scrub" => {
            if let Some(s) = first_dev() {
                out.add(&SHRED_DEVICE, s);
            }
        }
        "blkdiscard" => {
            if let Some(s) = first_dev() {
                out.add(&BLKDISCARD, s);
            }
        }
        "diskutil" => {
            let verb = c.sub(0).unwrap_or("").to_ascii_lowercase();
            let verb = verb.as_str();
            let erase = matches!(
                verb,
                "erasedisk"
                    | "erasevolume"
                    | "zerodisk"
                    | "randomdisk"
                    | "secureerase"
                    | "partitiondisk"
                    | "reformat"
                    | "splitpartition"
                    | "mergepartitions"
            ) || (verb == "apfs"
                && c.sub(1).is_some_and(|s| {
                    let s = s.to_ascii_lowercase();
                    s == "deletecontainer" || s == "erasevolume" || s == "deletevolume"
                }));
            if erase {
                out.add(&DISKUTIL_ERASE, c.span.clone());
            }
        }
        "cryptsetup" => {
            let verb = c.sub(0).unwrap_or("").to_ascii_lowercase();
            if matches!(verb.as_str(), "luksformat" | "erase" | "lukserase") {
                out.add(&CRYPT_FORMAT, c.span.clone());
            }
        }
        "hdparm"
            if c.arg_texts().any(|t| {
                t.starts_with("--security-erase")
                    || t == "--write-sector"
                    || t == "--trim-sector-ranges"
                    || t == "--dco-restore"
                    || t == "--make-bad-sector"
            }) =>
        {
            out.add(&HDPARM_ERASE, c.span.clone());
        }
        "lvremove" | "vgremove" | "pvremove"
            if !c.arg_texts().any(|t| t == "-h" || t == "--help") =>
        {
            out.add(&LVM_REMOVE, c.span.clone());
        }
        "lvm" => {
            if matches!(c.sub(0), Some("lvremove" | "vgremove" | "pvremove")) {
                out.add(&LVM_REMOVE, c.span.clone());
            }
        }
        "mdadm" if c.arg_texts().any(|t| t == "--zero-superblock") => {
            out.add(&RAID_ZERO, c.span.clone());
        }
        "zpool" | "zfs" => {
            if matches!(c.sub(0), Some("destroy" | "labelclear")) {
                out.add(&ZFS_DESTROY, c.span.clone());
            }
        }
        "ventoy" | "ventoy2disk.sh" if c.arg_texts().any(|t| t == "-i" || t == "-I") => {
            if let Some(s) = first_dev() {
                out.add(&IMAGE_WRITER, s);
            }
        }
        "woeusb" if c.arg_texts().any(|t| t == "-d" || t == "--device") => {
            if let Some(s) = first_dev() {
                out.add(&IMAGE_WRITER, s);
            }
        }
        "badblocks" => {
            let o = opts(&c.args, "bcdeiopt", &[]);
            if o.has('w') {
                if let Some(s) = first_dev() {
                    out.add(&BADBLOCKS_WRITE, s);
                }
            }
        }
        "flashrom"
            if c.arg_texts()
                .any(|t| t == "-w" || t == "--write" || t == "-E" || t == "--erase") =>
        {
            out.add(&FIRMWARE_WRITE, c.span.clone());
        }
        _ => {}
    }
}

/// Redirections, tee and cp onto a block device.
pub(crate) fn check_write(t: &WriteTarget, _cx: &Cx, out: &mut Out) {
    if t.tool != "dd" && is_block_device(&t.path) {
        out.add(&WRITE_DEVICE, t.span.clone());
    }
}

/// Partition tools: the ones that rewrite a table by their options, and the
/// interactive editors, which are judged by the script they are fed
/// (`printf 'o\nw\n' | fdisk /dev/sda` writes; `printf 'p\nq\n' | ..` only
/// prints).
fn partition_tool(c: &Cmd, cx: &Cx, s: std::ops::Range<usize>, out: &mut Out) {
    let name = c.name.as_str();
    let texts: Vec<String> = c.arg_texts().map(|t| t.to_ascii_lowercase()).collect();
    let has = |x: &str| texts.iter().any(|t| t == x);
    let readonly = has("-l")
        || has("--list")
        || has("print")
        || has("-p")
        || has("--print")
        || has("-d")
        || has("--dump")
        || has("-j")
        || has("--json")
        || has("--backup")
        || has("-b")
        || has("-v")
        || has("--verify")
        || has("-i")
        || has("--info")
        || has("-s") && name == "sfdisk"
        || has("--show-size");
    let destructive = match name {
        "sgdisk" => texts.iter().any(|t| {
            matches!(
                t.as_str(),
                "-z" | "--zap-all"
                    | "--zap"
                    | "-o"
                    | "--clear"
                    | "-d"
                    | "--delete"
                    | "-g"
                    | "--mbrtogpt"
            ) || t.starts_with("--delete=")
                || t.starts_with("-d")
        }),
        "parted" => texts.iter().any(|t| {
            matches!(
                t.as_str(),
                "mklabel" | "mktable" | "rm" | "resizepart" | "mkpart" | "mkfs"
            )
        }),
        "sfdisk" => {
            let sc = &cx.script.commands[c.index];
            has("--delete")
                || sc
                    .redirects
                    .iter()
                    .any(|r| matches!(r.op, RedirOp::In | RedirOp::HereDoc | RedirOp::HereString))
                || cx.script.pipe_prev(c.index).is_some()
                || sc.fed_by.is_some()
        }
        "gpart" => texts
            .iter()
            .any(|t| matches!(t.as_str(), "destroy" | "delete" | "create")),
        _ => false,
    };
    if destructive {
        out.add(&PARTITION_WRITE, s);
    } else if !fed_script(c, cx, s.clone(), out)
        && !readonly
        && matches!(name, "fdisk" | "gdisk" | "cfdisk" | "cgdisk" | "parted")
    {
        let non_dev_operands = c
            .args
            .iter()
            .filter(|w| !w.text.starts_with('-') && !is_block_device(&w.text))
            .count();
        if non_dev_operands == 0 {
            out.add(&PARTITION_INTERACTIVE, s);
        }
    }
}

/// An interactive partition editor fed its keystrokes (a pipe, a here-document,
/// a file): a script ending in `w` writes the table. Returns whether the
/// editor is fed at all.
fn fed_script(c: &Cmd, cx: &Cx, span: std::ops::Range<usize>, out: &mut Out) -> bool {
    if !matches!(c.name.as_str(), "fdisk" | "gdisk" | "cfdisk" | "cgdisk") {
        return false;
    }
    let sc = &cx.script.commands[c.index];
    let fed = sc.fed_by.is_some()
        || cx.script.pipe_prev(c.index).is_some()
        || sc
            .redirects
            .iter()
            .any(|r| matches!(r.op, RedirOp::In | RedirOp::HereDoc | RedirOp::HereString));
    if !fed {
        return false;
    }
    let script = cx.flow().stdin(&cx.line(), c.index, 0);
    let writes = script.text.lines().any(|l| l.trim() == "w");
    if writes {
        let note = format!("feeds {} a script that ends by writing (w) a new partition table, which makes the data on the disk unreachable", c.name);
        out.add_note(&PARTITION_WRITE, span, note);
    } else if script.unknown {
        let note = format!("feeds {} keystrokes this line does not show; if they include w, the disk's partition table is rewritten", c.name);
        out.add_note(&PARTITION_INTERACTIVE, span, note);
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};
    use crate::safety::types::{Context, Os};
    use crate::safety::walk::assess;

    #[test]
    fn dd_device() {
        assert_flags("dd if=/dev/zero of=/dev/sda bs=1M", "disk.dd_device");
        assert_flags("sudo dd if=x.iso of=/dev/nvme0n1", "disk.dd_device");
        assert_not_flags(
            "dd if=/dev/zero of=./file.img bs=1M count=10",
            "disk.dd_device",
        );
        assert_not_flags("dd if=/dev/sda of=backup.img", "disk.dd_device");
    }

    #[test]
    fn write_device() {
        assert_flags("> /dev/sda", "disk.write_device");
        assert_flags("cat image.iso > /dev/sdb", "disk.write_device");
        assert_flags("cp image.iso /dev/sdb", "disk.write_device");
        assert_not_flags("echo hi > /dev/null", "disk.write_device");
        assert_not_flags("cat /dev/sda > disk.img", "disk.write_device");
    }

    #[test]
    fn mkfs() {
        assert_flags("mkfs.ext4 /dev/sdb1", "disk.mkfs");
        assert_flags("sudo mkfs -t vfat /dev/mmcblk0p1", "disk.mkfs");
        assert_not_flags("mkfs.ext4 disk.img", "disk.mkfs");
    }

    #[test]
    fn mkswap() {
        assert_flags("mkswap /dev/sda2", "disk.mkswap");
        assert_not_flags("mkswap /swapfile", "disk.mkswap");
    }

    #[test]
    fn wipefs() {
        assert_flags("wipefs -a /dev/sdb", "disk.wipefs");
        assert_flags("wipefs --all --force /dev/sdb", "disk.wipefs");
        assert_not_flags("wipefs /dev/sdb", "disk.wipefs");
        assert_not_flags("wipefs -a -n /dev/sdb", "disk.wipefs");
    }

    #[test]
    fn partition_write() {
        assert_flags("sgdisk --zap-all /dev/sda", "disk.partition_write");
        assert_flags("parted /dev/sda mklabel gpt", "disk.partition_write");
        assert_flags("sfdisk --delete /dev/sda 1", "disk.partition_write");
        assert_not_flags("fdisk -l /dev/sda", "disk.partition_write");
        assert_not_flags("parted /dev/sda print", "disk.partition_write");
    }

    #[test]
    fn partition_interactive() {
        assert_flags("sudo fdisk /dev/sda", "disk.partition_interactive");
        assert_not_flags("sudo fdisk -l", "disk.partition_interactive");
    }

    #[test]
    fn shred_device() {
        assert_flags("shred -n 3 /dev/sda", "disk.shred_device");
        assert_not_flags("shred file.txt", "disk.shred_device");
    }

    #[test]
    fn blkdiscard() {
        assert_flags("blkdiscard /dev/nvme0n1", "disk.blkdiscard");
        assert_not_flags("lsblk /dev/nvme0n1", "disk.blkdiscard");
    }

    #[test]
    fn diskutil_erase() {
        assert_flags(
            "diskutil eraseDisk APFS Untitled /dev/disk2",
            "disk.diskutil_erase",
        );
        assert_flags("diskutil zeroDisk disk3", "disk.diskutil_erase");
        assert_not_flags("diskutil list", "disk.diskutil_erase");
        let mac = Context {
            os: Os::Macos,
            home: Some("/Users/me".into()),
            cwd: None,
        };
        assert!(
            assess("sudo dd if=x.img of=/dev/rdisk2 bs=1m", &mac).risk
                == crate::safety::types::Risk::Critical
        );
    }

    #[test]
    fn crypt_format() {
        assert_flags("cryptsetup luksFormat /dev/sdb1", "disk.crypt_format");
        assert_not_flags("cryptsetup open /dev/sdb1 secret", "disk.crypt_format");
    }

    #[test]
    fn hdparm_erase() {
        assert_flags(
            "hdparm --user-master u --security-erase p /dev/sda",
            "disk.hdparm_erase",
        );
        assert_not_flags("hdparm -I /dev/sda", "disk.hdparm_erase");
    }

    #[test]
    fn lvm_remove() {
        assert_flags("lvremove /dev/vg0/data", "disk.lvm_remove");
        assert_not_flags("lvdisplay", "disk.lvm_remove");
        assert_not_flags("vgremove -h", "disk.lvm_remove");
    }

    #[test]
    fn raid_zero_superblock() {
        assert_flags(
            "mdadm --zero-superblock /dev/sdb1",
            "disk.raid_zero_superblock",
        );
        assert_not_flags("mdadm --detail /dev/md0", "disk.raid_zero_superblock");
    }

    #[test]
    fn zfs_destroy() {
        assert_flags("zpool destroy tank", "disk.zfs_destroy");
        assert_not_flags("zpool status", "disk.zfs_destroy");
    }

    #[test]
    fn image_writer() {
        assert_flags("sudo ventoy -i /dev/sdX", "disk.image_writer");
        assert_not_flags("sudo ventoy -l /dev/sdX", "disk.image_writer");
    }

    #[test]
    fn badblocks_write() {
        assert_flags("badblocks -wsv /dev/sdb", "disk.badblocks_write");
        assert_not_flags("badblocks -sv /dev/sdb", "disk.badblocks_write");
    }

    #[test]
    fn firmware_write() {
        assert_flags("flashrom -p internal -w bios.rom", "disk.firmware_write");
        assert_not_flags("flashrom -p internal -r backup.rom", "disk.firmware_write");
    }
}
