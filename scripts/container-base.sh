#!/bin/sh
# Makes the Debian 12 base image the Dockerfiles start FROM, without an image
# registry: debootstrap (minbase bookworm, from the Debian mirror this
# machine's apt uses) into a root file system, a tarball of it cached under
# the containers folder, `podman import`, then one tag for every name a
# Dockerfile of this repository uses in FROM (debian:12, ...), so no build
# tries to pull. Idempotent: a second run only re-tags (a few seconds).
#
#   scripts/container-base.sh            folder: $IMG_CONTAINERS_DIR or build/containers
#   IMG_CONTAINERS_REBASE=1 scripts/container-base.sh   debootstrap again
#
# Needs root (debootstrap, podman's store), debootstrap and podman.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null # scripts/containers-lib.sh, checked on its own
. "$here/scripts/containers-lib.sh"
ctr_env "${IMG_CONTAINERS_DIR:-$here/build/containers}"

base_dir="$CTR_DIR/base"
# bump the recipe number when make_tarball changes: the cached tarball is remade
recipe=3
tarball="$base_dir/debian-bookworm-minbase-r$recipe.tar"
image=localhost/img-base:bookworm

# The Debian mirror of this machine's apt sources (deb822 or one-line form).
debian_mirror() {
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'tolower($1) == "uris:" && $2 ~ /debian\/?$/ && $2 !~ /security/ { print $2; exit }' "$f"
  done | head -n 1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /debian\/?$/ && $i !~ /security/) { print $i; exit } }' |
    head -n 1 | grep . && return 0
  echo http://deb.debian.org/debian
}

# The apt sources file of this machine that names MIRROR, if deb822.
debian_sources_file() {
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -q "$1" "$f" && { echo "$f"; return 0; }
  done
  return 0
}

make_tarball() {
  mirror=$(debian_mirror)
  rootfs="$base_dir/rootfs"
  # a mirror caught between updates can fail a signature check: try again
  attempt=1
  while :; do
    rm -rf "$rootfs"
    mkdir -p "$rootfs"
    echo "container base: debootstrap --variant=minbase bookworm from $mirror"
    if debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$base_dir/debootstrap.log" 2>&1; then
      break
    fi
    tail -n 30 "$base_dir/debootstrap.log" >&2
    if [ $attempt -ge 3 ]; then
      echo "debootstrap failed (log: $base_dir/debootstrap.log)" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 15
  done
  # apt in image builds uses the same suites as the host (with updates and
  # security when the host has them), over the same mirror.
  sources=$(debian_sources_file "$mirror")
  if [ -n "$sources" ]; then
    rm -f "$rootfs/etc/apt/sources.list"
    cp "$sources" "$rootfs/etc/apt/sources.list.d/debian.sources"
  fi
  # Slim, as Debian's -slim images: no manuals, docs (but copyrights) or
  # translations; no recommended packages; no package files kept.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/img-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  # no fsync per file while dpkg unpacks (what makes apt slow in a build;
  # a failed build is thrown away anyway)
  echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/img-unsafe-io"
  cat >"$rootfs/etc/apt/apt.conf.d/img-slim" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
Acquire::Retries "3";
Binary::apt::APT::Keep-Downloaded-Packages "false";
EOF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
  rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  : >"$rootfs/etc/machine-id"
  tar --numeric-owner --xattrs -C "$rootfs" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
    -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
}

# Every image name used in a FROM line of this repository's Dockerfiles,
# less the names of build stages.
from_names() {
  find "$here" \( -name .git -o -name node_modules -o -name 'build' -o -name 'build-*' \) -prune \
    -o -name Dockerfile -type f -exec awk '
      toupper($1) == "FROM" {
        i = 2
        while ($i ~ /^--/) i++
        from[$i] = 1
        if (toupper($(i + 1)) == "AS") stage[$(i + 2)] = 1
      }
      END { for (n in from) if (!(n in stage)) print n }' {} + | sort -u
}

mkdir -p "$base_dir"
[ "${IMG_CONTAINERS_REBASE:-0}" = 1 ] && rm -f "$tarball"
[ -s "$tarball" ] || make_tarball
# tarballs of earlier recipes
find "$base_dir" -maxdepth 1 -name 'debian-bookworm-minbase*.tar' ! -name "${tarball##*/}" -delete

# Re-import only when the tarball is not the one the image came from.
stamp=$(stat -c '%s-%Y' "$tarball")
have=$(podman image inspect --format '{{index .Config.Labels "img.base.tarball"}}' "$image" 2>/dev/null || true)
if [ "$have" != "$stamp" ]; then
  echo "container base: importing $tarball as $image"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL img.base.tarball=$stamp" \
    --change 'CMD ["bash"]' \
    "$tarball" "$image" >/dev/null
fi

for name in $(from_names); do
  short=${name#docker.io/}
  short=${short#library/}
  case "$short" in
    debian:12 | debian:bookworm | debian:12-slim | debian:bookworm-slim) ;;
    *)
      echo "container base: a Dockerfile starts FROM $name; only Debian 12 (bookworm) can be made here" >&2
      exit 1
      ;;
  esac
  podman tag "$image" "$short" "docker.io/library/$short"
done
echo "container base: $image tagged as $(from_names | tr '\n' ' ')"
