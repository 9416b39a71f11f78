#!/usr/bin/env bash
# Copy the browser libraries gisgrid serves itself (no CDN at run time) from npm into
# frontend/static/vendor/<lib>/.  Idempotent: safe to run on every ./run.
#
#   frontend/vendor.sh               npm ci (from package-lock.json), then copy
#   frontend/vendor.sh --no-install  copy from an existing node_modules only
#
# static/vendor/ is build output (see frontend/.gitignore); never edit files there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

install=1
for arg in "$@"; do
  case "$arg" in
    --no-install) install=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "vendor.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if [[ $install -eq 1 ]]; then
  npm ci --no-audit --no-fund --ignore-scripts
fi

nm="$here/node_modules"
out="$here/static/vendor"

need() {
  local f
  for f in "$@"; do
    [[ -e "$f" ]] || { echo "vendor.sh: missing $f (did npm ci run?)" >&2; exit 1; }
  done
}

# Build into a temporary directory next to the target and swap it in, so a failed run
# never leaves a half-populated vendor/ and files removed upstream do not linger.
mkdir -p "$here/static"
tmp="$(mktemp -d "$here/static/.vendor.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Leaflet: js + css + marker images (leaflet.css references images/ relatively).
src="$nm/leaflet/dist"
need "$src/leaflet.js" "$src/leaflet.js.map" "$src/leaflet.css" "$src/images"
mkdir -p "$tmp/leaflet"
cp "$src/leaflet.js" "$src/leaflet.js.map" "$src/leaflet.css" "$tmp/leaflet/"
cp -R "$src/images" "$tmp/leaflet/images"
cp "$nm/leaflet/LICENSE" "$tmp/leaflet/LICENSE"

# Leaflet-Geoman (free): drawing/editing toolbar for the planner page.
src="$nm/@geoman-io/leaflet-geoman-free/dist"
need "$src/leaflet-geoman.min.js" "$src/leaflet-geoman.min.js.map" "$src/leaflet-geoman.css"
mkdir -p "$tmp/leaflet-geoman"
# The .map files are referenced by sourceMappingURL comments; ManifestStaticFilesStorage
# (collectstatic) fails on a missing one, so ship them too.
cp "$src/leaflet-geoman.min.js" "$src/leaflet-geoman.min.js.map" "$src/leaflet-geoman.css" "$tmp/leaflet-geoman/"
cp "$nm/@geoman-io/leaflet-geoman-free/LICENSE" "$tmp/leaflet-geoman/LICENSE"

# Leaflet.markercluster: incident markers.
src="$nm/leaflet.markercluster/dist"
need "$src/leaflet.markercluster.js" "$src/leaflet.markercluster.js.map" "$src/MarkerCluster.css" "$src/MarkerCluster.Default.css"
mkdir -p "$tmp/leaflet.markercluster"
cp "$src/leaflet.markercluster.js" "$src/leaflet.markercluster.js.map" "$src/MarkerCluster.css" "$src/MarkerCluster.Default.css" \
   "$tmp/leaflet.markercluster/"
cp "$nm/leaflet.markercluster/MIT-LICENCE.txt" "$tmp/leaflet.markercluster/LICENSE"

# ECharts: charts of the leaders' dashboard and the assessment reports (the UMD build, one file;
# Chinese is its built-in default locale, English from i18n/langEN.js).
src="$nm/echarts/dist"
need "$src/echarts.min.js" "$nm/echarts/i18n/langEN.js" "$nm/echarts/LICENSE" "$nm/echarts/NOTICE"
mkdir -p "$tmp/echarts"
cp "$src/echarts.min.js" "$nm/echarts/i18n/langEN.js" "$nm/echarts/LICENSE" "$nm/echarts/NOTICE" "$tmp/echarts/"

# Leaflet.heat: the dispatcher's heatmap of cases.
src="$nm/leaflet.heat/dist"
need "$src/leaflet-heat.js" "$nm/leaflet.heat/LICENSE"
mkdir -p "$tmp/leaflet.heat"
cp "$src/leaflet-heat.js" "$nm/leaflet.heat/LICENSE" "$tmp/leaflet.heat/"

# Record exactly what was vendored.
node -e '
  const names = ["leaflet", "@geoman-io/leaflet-geoman-free", "leaflet.markercluster", "echarts", "leaflet.heat"];
  const out = {};
  for (const n of names) out[n] = require(process.argv[1] + "/" + n + "/package.json").version;
  console.log(JSON.stringify(out, null, 2));
' "$nm" > "$tmp/VERSIONS.json"

chmod -R u+rwX,go+rX "$tmp"
rm -rf "$out.old"
[[ -d "$out" ]] && mv "$out" "$out.old"
mv "$tmp" "$out"
rm -rf "$out.old"
trap - EXIT
echo "vendor.sh: vendored into ${out#"$here"/}: $(tr -d '\n ' < "$out/VERSIONS.json")"
