#!/usr/bin/env bash
# The Debian package, end to end, without installing it into the system:
# cpack builds the .deb, dpkg-deb -x unpacks it into a scratch root, and the
# unpacked icegate runs the unpacked Operation Nicole exercise from a directory
# outside the source tree. Fails if the package lacks the binary, the data or
# the man page, ships anything but `icegate` in bin/, has no Depends, if the
# exercise fails (exit 1 or 3; 0 and 2 are results), or if anything it prints
# or writes names a path in the source tree (the installed data must be
# self-contained).
#
# Usage: package_smoke_test.sh BUILD_DIR   (ctest passes its own build tree)
set -euo pipefail
repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
build_dir="$(cd -- "${1:?usage: package_smoke_test.sh BUILD_DIR}" && pwd -P)"

fail() {
  printf 'package_smoke: %s\n' "$*" >&2
  exit 1
}

scratch="$(mktemp -d -t icegate-package.XXXXXX)"
trap 'rm -rf -- "$scratch"' EXIT
root="$scratch/root"

# -B puts both the package and CPack's staging tree in the scratch directory,
# so concurrent runs (dev and ASan builds) do not share files.
cpack --config "$build_dir/CPackConfig.cmake" -B "$scratch/package" >"$scratch/cpack.log" 2>&1 ||
  { cat "$scratch/cpack.log" >&2; fail "cpack failed"; }
debs=("$scratch"/package/*.deb)
[[ -f ${debs[0]} && ${#debs[@]} == 1 ]] || { cat "$scratch/cpack.log" >&2; fail "cpack made no single .deb"; }
deb="${debs[0]}"
printf 'package: %s\n' "$(basename -- "$deb")"

depends="$(dpkg-deb -f "$deb" Depends)"
[[ -n $depends ]] || fail "the package has no Depends (dpkg-shlibdeps did not run?)"
printf 'Depends: %s\n' "$depends"
grep -q 'libssl3' <<<"$depends" || fail "Depends does not name libssl3, which icegate links"

dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x failed"
icegate="$root/usr/bin/icegate"
[[ -x $icegate ]] || fail "no usr/bin/icegate in the package"
extra_binaries="$(find "$root/usr/bin" -mindepth 1 ! -name icegate)"
[[ -z $extra_binaries ]] || fail "the package ships more than icegate in usr/bin: $extra_binaries"

data="$root/usr/share/icegate"
for file in policies/need-to-share.yaml policies/need-to-know.yaml policies/demo.yaml \
  policies/schemes/gpms-2008.yaml policies/schemes/gsc-2014.yaml policies/policy.schema.json \
  policies/scheme.schema.json policies/policy-test.schema.json policies/tests/need-to-share.test.yaml \
  policies/federation/wm-ctu.yaml policies/federation/birmingham-cc.yaml policies/federation/staffordshire.yaml \
  scenarios/operation-nicole.yaml scenarios/operation-nicole-injects.csv; do
  [[ -s $data/$file ]] || fail "missing from the package: usr/share/icegate/$file"
done
# A pki/ made in the source tree to try the federation example holds CA keys.
[[ ! -e $data/policies/federation/pki ]] || fail "the package ships policies/federation/pki (CA keys)"
doc="$root/usr/share/doc/icegate"
for file in README.md docs/SECURITY.md policies/README.md scenarios/README.md proto/README.md; do
  [[ -s $doc/$file ]] || fail "missing from the package: usr/share/doc/icegate/$file"
done

man_page="$root/usr/share/man/man1/icegate.1"
[[ -s $man_page ]] || fail "no man page usr/share/man/man1/icegate.1 (is help2man installed? see tools/debian-packages.txt)"
if command -v man >/dev/null; then
  man_text="$(MANPAGER=cat MANWIDTH=80 man -l "$man_page" 2>&1)" || fail "man -l could not render the man page: $man_text"
else
  # Without man-db (minimal containers) check the source of the page instead.
  man_text="$(cat -- "$man_page")"
  head -n 3 -- "$man_page" | grep -q '^\.TH ICEGATE' || fail "the man page has no .TH ICEGATE header"
fi
grep -q 'exercise' <<<"$man_text" || fail "the man page does not mention the exercise command: $man_text"
grep -q 'share/icegate/scenarios' <<<"$man_text" || fail "the man page does not say where the scenarios are installed: $man_text"

# Policy checks through the installed files: relative scheme names resolve.
"$icegate" policy check "$data/policies/need-to-share.yaml" >"$scratch/check.log" 2>&1 ||
  { cat "$scratch/check.log" >&2; fail "icegate policy check failed on the installed need-to-share policy"; }

# The exercise, from a directory that is neither the source nor the build tree.
mkdir -p -- "$scratch/work"
cd -- "$scratch/work"
status=0
"$icegate" exercise run "$data/scenarios/operation-nicole.yaml" --out reports \
  >"$scratch/exercise.log" 2>&1 </dev/null || status=$?
cat "$scratch/exercise.log"
case "$status" in
  0 | 2) ;;
  *) fail "the installed exercise failed (exit status $status)" ;;
esac
compgen -G "reports/*.html" >/dev/null || fail "the exercise wrote no HTML report into reports/"

for tree in "$repo_root" "$build_dir"; do
  if grep -rlF -- "$tree" "$scratch/exercise.log" reports >"$scratch/leaks" 2>/dev/null; then
    fail "the installed exercise names a path in $tree, in: $(tr '\n' ' ' <"$scratch/leaks")"
  fi
done
echo "package_smoke: the unpacked package ran Operation Nicole (exit status $status) without the source tree"
