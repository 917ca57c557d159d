#!/usr/bin/env bash
# Reproduces every table in docs/benchmarks.md: the BenchmarkDotNet suite, the end-to-end load test (ChitChat and
# its raw SignalR baselines in the same invocation, alternating A B A B) and the plot.
#   benchmarks/run-all.sh            # full run (about 30 minutes on 2 cores)
# Needs redis-server (Redis fan-out, two-node scenario) and gnuplot-nox (plot): apt-get install -y redis-server gnuplot-nox
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/benchmarks
mkdir -p "$out"
dotnet build -c Release benchmarks/ChitChat.Benchmarks benchmarks/ChitChat.LoadTest -nologo -clp:ErrorsOnly 2>/dev/null \
  || { dotnet build -c Release benchmarks/ChitChat.Benchmarks -nologo -clp:ErrorsOnly; dotnet build -c Release benchmarks/ChitChat.LoadTest -nologo -clp:ErrorsOnly; }
# BenchmarkDotNet (in-process toolchain: its default per-benchmark build times out on a busy 2-core machine).
dotnet run -c Release --no-build --project benchmarks/ChitChat.Benchmarks -- --filter '*' --job short --inProcess \
  --artifacts "$out/bdn" | tee "$out/bdn.txt"
# End-to-end: fan-out at 10/100/500 receivers, paced latency, 100 rooms, two nodes over Redis, 5,000-connection soak.
dotnet benchmarks/ChitChat.LoadTest/bin/Release/net10.0/ChitChat.LoadTest.dll --scenario all --receivers 10,100,500 \
  --repeat 2 --out artifacts/loadtest | tee "$out/loadtest.md"
# The same fan-out with one hub call at a time per connection (ChitChat:Hub:MaximumParallelInvocationsPerClient=1, the
# SignalR default), to show what ordered pipelining brings.
dotnet benchmarks/ChitChat.LoadTest/bin/Release/net10.0/ChitChat.LoadTest.dll --scenario fanout --receivers 10,100,500 \
  --repeat 2 --chitchat-setting ChitChat:Hub:MaximumParallelInvocationsPerClient=1 --out artifacts/loadtest-serial \
  | tee "$out/loadtest-serial.md"
benchmarks/scripts/plot.sh artifacts/loadtest/summary.csv docs/fanout.png
