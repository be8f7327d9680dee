#!/usr/bin/env bash
# Mounts a small XFS file system with reflinks on a loop device, so that
# `scrub` can be measured where the copy of the input is a reflink (as on
# XFS or btrfs volumes that hold dump archives), on a machine whose own
# file system has none:
#
#   scripts/reflink_fs.sh && BENCH_DIR=/mnt/dumpscrub-xfs scripts/bench.sh
#
# Needs root (mount, losetup) and installs xfsprogs if mkfs.xfs is missing.
#
# Environment:
#   IMAGE  the image file (default /var/tmp/dumpscrub-xfs.img, sparse)
#   SIZE   its size (default 8G: a 1.5 GiB dump, its scrubbed copy and
#          room for the blocks the zeroing unshares)
#   MOUNT  where to mount it (default /mnt/dumpscrub-xfs)
set -euo pipefail

IMAGE=${IMAGE:-/var/tmp/dumpscrub-xfs.img}
SIZE=${SIZE:-8G}
MOUNT=${MOUNT:-/mnt/dumpscrub-xfs}

if mountpoint -q "$MOUNT"; then
    echo "reflink_fs: $MOUNT is already mounted" >&2
    exit 0
fi
((EUID == 0)) || { echo "reflink_fs: needs root (mount, losetup)" >&2; exit 2; }
if ! command -v mkfs.xfs >/dev/null; then
    apt-get install -y -q xfsprogs >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q xfsprogs >/dev/null; }
fi
if [[ ! -e $IMAGE ]]; then
    truncate -s "$SIZE" "$IMAGE"
    mkfs.xfs -q -m reflink=1 "$IMAGE"
fi
mkdir -p "$MOUNT"
mount -o loop "$IMAGE" "$MOUNT"
echo "reflink_fs: XFS with reflinks mounted on $MOUNT (image $IMAGE)" >&2
