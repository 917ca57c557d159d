using System.Diagnostics;
using System.Net.Http.Json;

namespace ChitChat.LoadTest;

/// <summary>One measurement's parameters.</summary>
internal sealed record RunSpec(
    string Scenario,
    Target Target,
    int Rooms,
    int ReceiversPerRoom,
    int Senders,
    int Messages,
    int Warmup,
    double? DeliveriesPerSecond,
    int Nodes,
    bool MembersSend = false,
    double WarmupSeconds = 10,
    bool Mixed = false);

/// <summary>One measurement's results.</summary>
internal sealed record RunResult(
    RunSpec Spec,
    int Repeat,
    double Seconds,
    long Deliveries,
    double DeliveriesPerSecond,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs,
    long Lost,
    long Duplicates,
    double ServerCpuSeconds,
    double DriverCpuSeconds,
    long Reactions = 0,
    long Edits = 0);

/// <summary>Runs measurements: starts servers, connects clients, sends, counts, stops.</summary>
internal sealed class LoadRunner(string signingKey, string configuration, Uri? externalUrl)
{
    private const int SendWindow = 32;
    private const int MaxWarmupRounds = 400;

    public async Task<RunResult> RunAsync(RunSpec spec, int repeat, CancellationToken ct)
    {
        await using var redis = spec.Nodes > 1 ? await RedisProcess.StartAsync() : null;
        var servers = new List<ServerProcess>();
        var sharedDbDir = Directory.CreateTempSubdirectory("chitchat-load-db-").FullName;
        var participants = new List<Participant>();
        try
        {
            List<Uri> urls;
            if (externalUrl is not null)
            {
                urls = [externalUrl];
            }
            else
            {
                var sharedDb = spec.Nodes > 1 ? Path.Combine(sharedDbDir, "chitchat.db") : null;
                for (var n = 0; n < spec.Nodes; n++)
                {
                    servers.Add(await ServerProcess.StartAsync(spec.Target, signingKey, redis?.Configuration, sharedDb, configuration, ct));
                }

                urls = servers.Select(s => s.Url).ToList();
            }

            using var handler = new SocketsHttpHandler();
            var runId = Guid.NewGuid().ToString("N")[..8];
            // Warm-up runs in rounds of spec.Warmup messages until spec.WarmupSeconds have passed (both targets alike), so
            // the measured phase sees JIT-tiered, steady-state servers. Positions 1..warmupCapacity are reserved for it.
            var warmupCapacity = spec.Warmup == 0 ? 0 : spec.Warmup * MaxWarmupRounds;
            var totalPerRoom = warmupCapacity + spec.Messages;
            var rooms = Enumerable.Range(0, spec.Rooms).Select(r => new RoomPlan($"load-{runId}-{r}", totalPerRoom, warmupCapacity)).ToList();
            var receiversTotal = (long)spec.Rooms * spec.ReceiversPerRoom;
            var counters = new RunCounters(receiversTotal * spec.Messages);

            // Users: one per connection (cheap: hashing iterations are lowered on the benchmark server).
            var tokenUrl = urls[0];
            var tokens = new string[spec.Rooms * spec.ReceiversPerRoom + spec.Senders];
            await Parallel.ForAsync(0, tokens.Length, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, c) =>
            {
                var user = $"u{runId}{i}";
                tokens[i] = spec.Target == Target.ChitChat
                    ? await Tokens.ChitChatTokenAsync(handler, tokenUrl, user, "load-test-password", c)
                    : Tokens.BaselineToken(signingKey, user);
            });

            if (spec.Target == Target.ChitChat)
            {
                foreach (var room in rooms)
                {
                    await Tokens.CreateRoomAsync(handler, urls[0], tokens[0], room.Name, ct);
                }
            }

            // Receivers spread round-robin over the nodes; senders on node 0 (same senders for every target).
            var t = 0;
            var senders = new List<Participant>();
            foreach (var room in rooms)
            {
                for (var i = 0; i < spec.ReceiversPerRoom; i++, t++)
                {
                    var p = new Participant(spec.Target, urls[t % urls.Count], tokens[t], room, receiver: true, counters, countBySeq: spec.Mixed);
                    room.Receivers.Add(p);
                    participants.Add(p);
                    if (spec.MembersSend)
                    {
                        senders.Add(p);
                    }
                }
            }

            if (!spec.MembersSend)
            {
                for (var s = 0; s < spec.Senders; s++, t++)
                {
                    var p = new Participant(spec.Target, urls[0], tokens[t], rooms[s % rooms.Count], receiver: false, counters);
                    senders.Add(p);
                    participants.Add(p);
                }
            }

            await Parallel.ForEachAsync(participants, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (p, c) =>
                await p.ConnectAndJoinAsync(join: p.IsReceiver, c));

            // Warm-up (not counted): rounds until the warm-up time is up; every receiver must see every warm-up message.
            var warmSent = 0;
            var warmStart = Stopwatch.GetTimestamp();
            while (spec.Warmup > 0 && warmSent < warmupCapacity
                && (warmSent == 0 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < spec.WarmupSeconds))
            {
                await SendAllAsync(senders, rooms, spec with { DeliveriesPerSecond = null, Mixed = false }, warmSent, spec.Warmup, ct); // warm-up: sends only, seq 1..warmSent
                warmSent += spec.Warmup;
                var expected = receiversTotal * warmSent;
                var deadline = Stopwatch.GetTimestamp() + (120 * Stopwatch.Frequency);
                while (counters.WarmDelivered < expected)
                {
                    if (Stopwatch.GetTimestamp() > deadline)
                    {
                        throw new TimeoutException($"warm-up: {counters.WarmDelivered} of {expected} deliveries after 120 s");
                    }

                    await Task.Delay(10, ct); // a load tool polling its own counters
                }
            }

            foreach (var room in rooms)
            {
                room.WarmupBoundary = warmSent;
            }

            var serverCpu0 = servers.Sum(s => s.CpuTime.TotalSeconds);
            var driverCpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var start = Stopwatch.GetTimestamp();
            await SendAllAsync(senders, rooms, spec, warmSent, spec.Messages, ct);
            var timeout = TimeSpan.FromSeconds(Math.Max(60, spec.Messages / 100.0));
            var completed = await Task.WhenAny(counters.Done, Task.Delay(timeout, ct)) == counters.Done;
            var end = completed ? counters.LastDeliveryTimestamp : Stopwatch.GetTimestamp();
            var seconds = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
            var serverCpu = servers.Sum(s => s.CpuTime.TotalSeconds) - serverCpu0;
            var driverCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - driverCpu0;

            var latencies = new List<long>((int)Math.Min(counters.DeliveredCount, int.MaxValue));
            foreach (var r in participants.Where(p => p.IsReceiver))
            {
                foreach (var l in r.Latencies)
                {
                    latencies.Add(l);
                }
            }

            latencies.Sort();
            double Pct(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)] * 1000.0 / Stopwatch.Frequency;
            var delivered = counters.DeliveredCount;
            var result = new RunResult(
                spec, repeat, seconds, delivered, delivered / seconds,
                Pct(0.50), Pct(0.90), Pct(0.99), latencies.Count == 0 ? double.NaN : latencies[^1] * 1000.0 / Stopwatch.Frequency,
                receiversTotal * spec.Messages - delivered, Interlocked.Read(ref counters.Duplicates), serverCpu, driverCpu,
                Interlocked.Read(ref counters.Reactions), Interlocked.Read(ref counters.Edits));
            return result;
        }
        finally
        {
            await Parallel.ForEachAsync(participants, async (p, _) => await p.DisposeAsync());
            foreach (var s in servers)
            {
                await s.DisposeAsync();
            }

            Directory.Delete(sharedDbDir, recursive: true);
        }
    }

    /// <summary>Connects <paramref name="connections"/> idle, authenticated, joined connections and reports server memory per connection.</summary>
    public async Task<ConnectionsResult> ConnectionsAsync(Target target, int connections, CancellationToken ct)
    {
        await using var server = await ServerProcess.StartAsync(target, signingKey, null, null, configuration, ct);
        using var handler = new SocketsHttpHandler();
        var users = Math.Min(connections, 100);
        var tokens = new string[users];
        await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, c) =>
            tokens[i] = target == Target.ChitChat
                ? await Tokens.ChitChatTokenAsync(handler, server.Url, $"soak{i}", "load-test-password", c)
                : Tokens.BaselineToken(signingKey, $"soak{i}"));
        var room = new RoomPlan("global", 1, 0);
        var counters = new RunCounters(long.MaxValue);

        // Warm the server's code paths with a few connections, then take the baseline memory reading.
        var warm = Enumerable.Range(0, 10).Select(i => new Participant(target, server.Url, tokens[i % users], room, true, counters)).ToList();
        foreach (var w in warm)
        {
            await w.ConnectAndJoinAsync(true, ct);
        }

        var rssBefore = server.RssBytes;
        var start = Stopwatch.GetTimestamp();
        var clients = new Participant[connections];
        await Parallel.ForAsync(0, connections, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (i, c) =>
        {
            clients[i] = new Participant(target, server.Url, tokens[i % users], room, true, counters);
            await clients[i].ConnectAndJoinAsync(true, c);
        });
        var connectSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var rssAfter = server.RssBytes;
        await Parallel.ForEachAsync(clients.Concat(warm), async (p, _) => await p.DisposeAsync());
        return new ConnectionsResult(target, connections, connectSeconds, rssBefore, rssAfter, (rssAfter - rssBefore) / (double)connections);
    }

    private static async Task SendAllAsync(List<Participant> senders, List<RoomPlan> rooms, RunSpec spec, int firstIndex, int count, CancellationToken ct)
    {
        if (count == 0)
        {
            return;
        }

        // Every room gets `count` messages. Senders pick up message indices of their own room from a shared counter,
        // with at most SendWindow invocations in flight per sender (max rate), or on a schedule (paced).
        var byRoom = senders.GroupBy(s => RoomOf(s, rooms)).ToDictionary(g => g.Key, g => g.ToList());
        var messagesPerSecondPerRoom = spec.DeliveriesPerSecond is { } dps ? dps / (spec.ReceiversPerRoom * (double)spec.Rooms) : (double?)null;
        var start = Stopwatch.GetTimestamp();
        var sendTasks = new List<Task>();
        var counters = rooms.ToDictionary(r => r, _ => new Counter(firstIndex - 1));
        foreach (var (room, roomSenders) in byRoom)
        {
            var counter = counters[room];
            foreach (var sender in roomSenders)
            {
                sendTasks.Add(Task.Run(
                    async () =>
                    {
                        using var window = new SemaphoreSlim(SendWindow);
                        var inflight = new List<Task>();
                        while (true)
                        {
                            var index = Interlocked.Increment(ref counter.Value);
                            if (index >= firstIndex + count)
                            {
                                break;
                            }

                            if (messagesPerSecondPerRoom is { } rate)
                            {
                                var due = start + (long)((index - firstIndex) / rate * Stopwatch.Frequency);
                                var wait = due - Stopwatch.GetTimestamp();
                                if (wait > 0)
                                {
                                    await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), ct); // pacing the load, not synchronizing
                                }
                            }

                            await window.WaitAsync(ct);
                            inflight.Add(SendOneAsync(sender, index, spec.Mixed, window, ct));
                        }

                        await Task.WhenAll(inflight);
                    },
                    ct));
            }
        }

        await Task.WhenAll(sendTasks);
    }

    private static async Task SendOneAsync(Participant sender, int index, bool mixed, SemaphoreSlim window, CancellationToken ct)
    {
        try
        {
            await (mixed ? sender.MixedAsync(index, ct) : sender.SendAsync(index, ct));
        }
        finally
        {
            window.Release();
        }
    }

    private static RoomPlan RoomOf(Participant p, List<RoomPlan> rooms) => p.Room;

    private sealed class Counter(int value)
    {
        public int Value = value;
    }
}

/// <summary>The idle-connection memory scenario's results.</summary>
internal sealed record ConnectionsResult(Target Target, int Connections, double ConnectSeconds, long RssBeforeBytes, long RssAfterBytes, double BytesPerConnection);
