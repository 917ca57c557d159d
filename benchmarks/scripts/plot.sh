#!/usr/bin/env bash
# Plots deliveries/s against receivers (ChitChat beside raw SignalR) from the load tool's summary.csv.
#   benchmarks/scripts/plot.sh [artifacts/loadtest/summary.csv] [docs/fanout.png]
# Needs gnuplot (Debian: apt-get install gnuplot-nox).
set -euo pipefail
in=${1:-artifacts/loadtest/summary.csv}
out=${2:-docs/fanout.png}
command -v gnuplot >/dev/null || { echo "gnuplot is missing: apt-get install -y gnuplot-nox" >&2; exit 2; }
data=$(mktemp)
# scenario,rooms,receivers,nodes,chitchat,signalr,... -> receivers chitchat signalr for the max-rate single-node fan-out rows
awk -F, 'NR>1 && $1=="fanout" && $4==1 { print $3, $5, $6 }' "$in" | sort -n > "$data"
gnuplot <<GP
set terminal pngcairo size 900,540 font "DejaVu Sans,11" noenhanced
set output "$out"
set title "Fan-out throughput, one room, max rate (median of alternating runs)"
set xlabel "receivers in the room"
set ylabel "deliveries per second"
set logscale x
set grid
set key top left
set format y "%'.0f"
set style data linespoints
plot "$data" using 1:2 title "ChitChat (persisted, sequenced)" lw 2 pt 7, \
     "$data" using 1:3 title "raw SignalR (Clients.Group)" lw 2 pt 5
GP
rm -f "$data"
echo "wrote $out"
