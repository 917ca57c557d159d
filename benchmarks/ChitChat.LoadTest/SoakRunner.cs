using System.Diagnostics;

namespace ChitChat.LoadTest;

/// <summary>The soak's parameters: many authenticated connections over many rooms, a few senders at a paced rate.</summary>
internal sealed record SoakSpec(Target Target, int Connections, int Rooms, int Senders, double MessagesPerSecond, double Seconds);

/// <summary>The soak's results: delivery counts, latency over time and the server's memory over time.</summary>
internal sealed record SoakResult(
    SoakSpec Spec,
    double ConnectSeconds,
    long Expected,
    long Delivered,
    long Lost,
    long Duplicates,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    IReadOnlyList<double> P99ByWindowMs,
    long RssIdleBytes,
    long RssAfterWarmupBytes,
    long RssPeakBytes,
    long RssEndBytes,
    IReadOnlyList<(double Seconds, long RssBytes)> RssSamples);

/// <summary>
/// Runs the soak: <see cref="SoakSpec.Connections"/> receivers spread over <see cref="SoakSpec.Rooms"/> rooms, joined and
/// idle except for what the senders send: <see cref="SoakSpec.Senders"/> connections sending round-robin to every room at
/// <see cref="SoakSpec.MessagesPerSecond"/> in all for <see cref="SoakSpec.Seconds"/>. The server's RSS is sampled every
/// second; the first quarter of the run is the warm-up of the memory figures ("flat after warm-up" compares the rest).
/// </summary>
internal sealed class SoakRunner(string signingKey, string configuration)
{
    private const int SendWindow = 32;

    public async Task<SoakResult> RunAsync(SoakSpec spec, CancellationToken ct)
    {
        await using var server = await ServerProcess.StartAsync(spec.Target, signingKey, null, null, configuration, ct);
        using var handler = new SocketsHttpHandler();
        var runId = Guid.NewGuid().ToString("N")[..8];
        var users = Math.Min(spec.Connections + spec.Senders, 200);
        var tokens = new string[users];
        await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, c) =>
            tokens[i] = spec.Target == Target.ChitChat
                ? await Tokens.ChitChatTokenAsync(handler, server.Url, $"s{runId}{i}", "load-test-password", c)
                : Tokens.BaselineToken(signingKey, $"s{runId}{i}"));

        var total = (long)Math.Ceiling(spec.MessagesPerSecond * spec.Seconds);
        var perRoom = (int)((total + spec.Rooms - 1) / spec.Rooms);
        var rooms = Enumerable.Range(0, spec.Rooms).Select(r => new RoomPlan($"soak-{runId}-{r}", perRoom, 0) { WarmupBoundary = 0 }).ToList();
        if (spec.Target == Target.ChitChat)
        {
            foreach (var room in rooms)
            {
                await Tokens.CreateRoomAsync(handler, server.Url, tokens[0], room.Name, ct);
            }
        }

        var counters = new RunCounters(long.MaxValue);
        var receivers = new Participant[spec.Connections];
        var senders = new Participant[spec.Senders];
        try
        {
            var connectStart = Stopwatch.GetTimestamp();
            await Parallel.ForAsync(0, spec.Connections, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (i, c) =>
            {
                receivers[i] = new Participant(spec.Target, server.Url, tokens[i % users], rooms[i % spec.Rooms], receiver: true, counters);
                await receivers[i].ConnectAndJoinAsync(join: true, c);
            });
            var connectSeconds = Stopwatch.GetElapsedTime(connectStart).TotalSeconds;
            for (var s = 0; s < spec.Senders; s++)
            {
                senders[s] = new Participant(spec.Target, server.Url, tokens[(spec.Connections + s) % users], rooms[0], receiver: false, counters);
                await senders[s].ConnectAndJoinAsync(join: false, ct);
            }

            var rssIdle = server.RssBytes;
            var samples = new List<(double, long)>();
            var start = Stopwatch.GetTimestamp();
            using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var sampler = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
                while (await timer.WaitForNextTickAsync(sampling.Token))
                {
                    lock (samples)
                    {
                        samples.Add((Stopwatch.GetElapsedTime(start).TotalSeconds, server.RssBytes));
                    }
                }
            }, CancellationToken.None);

            // Message k goes to room k % rooms (its index there: k / rooms), from sender k % senders, at its due time.
            var windows = senders.Select(_ => new SemaphoreSlim(SendWindow)).ToArray();
            var inflight = new List<Task>();
            for (long k = 0; k < total; k++)
            {
                var due = start + (long)(k / spec.MessagesPerSecond * Stopwatch.Frequency);
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), ct); // pacing the load
                }

                var s = (int)(k % spec.Senders);
                await windows[s].WaitAsync(ct);
                inflight.Add(SendAsync(senders[s], rooms[(int)(k % spec.Rooms)], (int)(k / spec.Rooms), windows[s], ct));
            }

            await Task.WhenAll(inflight);
            var expected = ExpectedDeliveries(spec, total);
            var drainDeadline = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
            while (counters.DeliveredCount < expected && Stopwatch.GetTimestamp() < drainDeadline)
            {
                await Task.Delay(50, ct); // a load tool polling its own counters
            }

            await sampling.CancelAsync();
            await sampler.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var rssEnd = server.RssBytes;

            // Latency: overall, and p99 in ten windows of the run by send time (bounded means: not growing to the end).
            var byWindow = Enumerable.Range(0, 10).Select(_ => new List<long>()).ToArray();
            var all = new List<long>();
            var runTicks = spec.Seconds * Stopwatch.Frequency;
            foreach (var r in receivers)
            {
                var latencies = r.Latencies;
                var sentAt = r.SentAt;
                for (var i = 0; i < latencies.Length; i++)
                {
                    all.Add(latencies[i]);
                    byWindow[Math.Clamp((int)((sentAt[i] - start) / runTicks * 10), 0, 9)].Add(latencies[i]);
                }
            }

            var warmupEnd = spec.Seconds / 4;
            var afterWarmup = samples.Where(x => x.Item1 >= warmupEnd).ToList();
            return new SoakResult(
                spec, connectSeconds, expected, counters.DeliveredCount, expected - counters.DeliveredCount, Interlocked.Read(ref counters.Duplicates),
                Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 1.0),
                byWindow.Select(w => Percentile(w, 0.99)).ToList(),
                rssIdle,
                afterWarmup.Count > 0 ? afterWarmup[0].Item2 : rssEnd,
                afterWarmup.Count > 0 ? afterWarmup.Max(x => x.Item2) : rssEnd,
                rssEnd,
                samples);
        }
        finally
        {
            await Parallel.ForEachAsync(receivers.Concat(senders).Where(p => p is not null), async (p, _) => await p.DisposeAsync());
        }
    }

    private static long ExpectedDeliveries(SoakSpec spec, long total)
    {
        // Room r has receivers i with i % rooms == r, and messages k with k % rooms == r.
        long expected = 0;
        for (var r = 0; r < spec.Rooms; r++)
        {
            long receiversInRoom = (spec.Connections / spec.Rooms) + (r < spec.Connections % spec.Rooms ? 1 : 0);
            long messagesInRoom = (total / spec.Rooms) + (r < total % spec.Rooms ? 1 : 0);
            expected += receiversInRoom * messagesInRoom;
        }

        return expected;
    }

    private static async Task SendAsync(Participant sender, RoomPlan room, int index, SemaphoreSlim window, CancellationToken ct)
    {
        try
        {
            await sender.SendToAsync(room.Name, index, ct);
        }
        finally
        {
            window.Release();
        }
    }

    private static double Percentile(List<long> ticks, double q)
    {
        if (ticks.Count == 0)
        {
            return double.NaN;
        }

        ticks.Sort();
        return ticks[Math.Min(ticks.Count - 1, Math.Max(0, (int)Math.Ceiling(q * ticks.Count) - 1))] * 1000.0 / Stopwatch.Frequency;
    }
}
