// ChitChat end-to-end load tool. See docs/benchmarks.md.
//   dotnet run -c Release --project benchmarks/ChitChat.LoadTest -- --scenario all
//   dotnet run -c Release --project benchmarks/ChitChat.LoadTest -- --scenario fanout --receivers 500 --senders 10 --messages 20000
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ChitChat.LoadTest;

var scenarioOption = new Option<string>("--scenario") { Description = "fanout | mixed | paced | rooms | multinode | connections | soak | all", DefaultValueFactory = _ => "fanout" };
var receiversOption = new Option<string>("--receivers") { Description = "Receivers in the room (comma-separated list runs each)", DefaultValueFactory = _ => "10,100,500" };
var sendersOption = new Option<int>("--senders") { Description = "Sender connections", DefaultValueFactory = _ => 10 };
var messagesOption = new Option<int?>("--messages") { Description = "Messages per measured run (default: 2,000,000 deliveries / receivers, 2,000..20,000)" };
var warmupOption = new Option<int>("--warmup") { Description = "Warm-up messages per round (not counted)", DefaultValueFactory = _ => 200 };
var warmupSecondsOption = new Option<double>("--warmup-seconds") { Description = "Warm-up rounds continue until this many seconds have passed (JIT tiering, caches)", DefaultValueFactory = _ => 10 };
var rateOption = new Option<double>("--rate") { Description = "Paced scenario: target deliveries per second", DefaultValueFactory = _ => 10_000 };
var repeatOption = new Option<int>("--repeat") { Description = "Alternating repeats per target (A B A B ...); medians are reported", DefaultValueFactory = _ => 3 };
var targetsOption = new Option<string>("--targets") { Description = "chitchat,signalr,websocket (the plain Kestrel WebSocket broadcast: fanout and paced only)", DefaultValueFactory = _ => "chitchat,signalr,websocket" };
var pinOption = new Option<string>("--pin")
{
    Description = "CPU pinning: 'auto' (driver on the lower half of the CPUs, servers on the upper half, when there are at least 2), 'off', or DRIVER:SERVER taskset lists such as 0:1",
    DefaultValueFactory = _ => "auto",
};
var connectionsOption = new Option<int>("--connections") { Description = "connections and soak: authenticated connections", DefaultValueFactory = _ => 5000 };
var soakRoomsOption = new Option<int>("--soak-rooms") { Description = "Soak: rooms the connections are spread over", DefaultValueFactory = _ => 100 };
var soakRateOption = new Option<double>("--soak-rate") { Description = "Soak: messages per second from all senders together (deliveries/s = rate x connections / rooms)", DefaultValueFactory = _ => 50 };
var durationOption = new Option<double>("--duration") { Description = "Soak: seconds of traffic", DefaultValueFactory = _ => 120 };
var urlOption = new Option<Uri?>("--url")
{
    Description = "Target an already running ChitChat server instead of starting nodes (fanout only; needs rate limits off)",
    CustomParser = r => r.Tokens.Count == 0 ? null : new Uri(r.Tokens[0].Value, UriKind.Absolute), // System.CommandLine has no Uri parser
};
var serverSettingOption = new Option<string[]>("--chitchat-setting") { Description = "Extra ChitChat node configuration, key=value (e.g. ChitChat:Hub:MaximumParallelInvocationsPerClient=32); repeatable", AllowMultipleArgumentsPerToken = false };
var outOption = new Option<string>("--out") { Description = "Output directory for results.csv / results.json", DefaultValueFactory = _ => "artifacts/loadtest" };
var configurationOption = new Option<string>("--configuration") { Description = "Build configuration of the server projects", DefaultValueFactory = _ => "Release" };

var root = new RootCommand("ChitChat end-to-end fan-out load test, side by side with raw SignalR")
{
    scenarioOption, receiversOption, sendersOption, messagesOption, warmupOption, warmupSecondsOption, rateOption, repeatOption,
    targetsOption, pinOption, connectionsOption, soakRoomsOption, soakRateOption, durationOption, urlOption, serverSettingOption, outOption, configurationOption,
};

root.SetAction(async (parse, ct) =>
{
    var scenario = parse.GetValue(scenarioOption)!;
    var receiverCounts = parse.GetValue(receiversOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    var senders = parse.GetValue(sendersOption);
    var messages = parse.GetValue(messagesOption);
    var warmup = parse.GetValue(warmupOption);
    var warmupSeconds = parse.GetValue(warmupSecondsOption);
    var rate = parse.GetValue(rateOption);
    var repeat = parse.GetValue(repeatOption);
    var targets = parse.GetValue(targetsOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(t => Enum.TryParse<Target>(t, ignoreCase: true, out var target) ? target : throw new ArgumentException($"unknown target '{t}' (chitchat, signalr, websocket)"))
        .ToArray();
    if (CpuPinning.Parse(parse.GetValue(pinOption)!) is { } pinning)
    {
        if (!CpuPinning.IsPinned)
        {
            return await CpuPinning.ReexecPinnedAsync(pinning.Driver, ct); // every driver thread inherits the affinity
        }

        ServerProcess.ServerCpus = pinning.Server;
        Console.WriteLine($"pinned: driver on CPUs {pinning.Driver}, servers on CPUs {pinning.Server} (taskset)");
    }

    var outDir = parse.GetValue(outOption)!;
    var url = parse.GetValue(urlOption);
    Directory.CreateDirectory(outDir);
    var signingKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48));
    var settings = (parse.GetValue(serverSettingOption) ?? []).Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
    ServerProcess.ExtraChitChatSettings = settings;
    if (settings.Count > 0)
    {
        Console.WriteLine($"ChitChat node settings: {string.Join(", ", settings.Select(kv => $"{kv.Key}={kv.Value}"))}");
    }

    var runner = new LoadRunner(signingKey, parse.GetValue(configurationOption)!, url);
    if (url is not null)
    {
        targets = [Target.ChitChat];
    }

    var specs = new List<RunSpec>();
    int Messages(int receivers) => messages ?? Math.Clamp(1_000_000 / receivers, 2_000, 10_000);
    bool Wants(string s) => scenario == "all" || scenario == s;
    if (Wants("fanout"))
    {
        specs.AddRange(receiverCounts.SelectMany(n => targets.Select(t => new RunSpec("fanout", t, 1, n, senders, Messages(n), warmup, null, 1))));
    }

    if (Wants("paced"))
    {
        specs.AddRange(receiverCounts.SelectMany(n => targets.Select(t => new RunSpec("paced", t, 1, n, senders, (int)Math.Min(Messages(n), rate * 10 / n), warmup, rate, 1))));
    }

    if (Wants("mixed") && targets.Contains(Target.ChitChat))
    {
        // ChitChat only: 80% sends, 15% reactions, 5% edits, every one a room event counted by seq.
        specs.AddRange(receiverCounts.Select(n => new RunSpec("mixed", Target.ChitChat, 1, n, senders, Messages(n), warmup, null, 1, Mixed: true)));
    }

    Target[] Hubs() => targets.Where(t => t != Target.WebSocket).ToArray(); // scenarios the WebSocket broadcast does not model
    if (Wants("rooms"))
    {
        // 100 rooms of 10 members, every member sending: 10 messages each at a modest aggregate rate.
        specs.AddRange(Hubs().Select(t => new RunSpec("rooms", t, 100, 10, 0, messages ?? 100, 10, 20_000, 1, MembersSend: true)));
    }

    if (Wants("multinode"))
    {
        var n = receiverCounts.Max();
        specs.AddRange(Hubs().Select(t => new RunSpec("multinode", t, 1, n, senders, Messages(n), warmup, null, 2)));
    }

    specs = specs.Select(s => s with { WarmupSeconds = warmupSeconds }).ToList();
    var results = new List<RunResult>();
    Console.WriteLine($"ChitChat load test — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC — {CpuPinning.MachineCpus} cores{(ServerProcess.ServerCpus is { } sc ? $" (servers pinned to {sc})" : "")} — .NET {Environment.Version}");
    foreach (var group in specs.GroupBy(s => (s.Scenario, s.ReceiversPerRoom, s.Rooms, s.Nodes)))
    {
        for (var r = 0; r < repeat; r++)
        {
            foreach (var spec in group) // A B A B ...: drift on a noisy machine hits both targets
            {
                var result = await runner.RunAsync(spec, r, ct);
                results.Add(result);
                Console.Error.WriteLine(
                    $"  {spec.Scenario,-9} {spec.Target,-8} rooms={spec.Rooms} receivers={spec.ReceiversPerRoom} nodes={spec.Nodes} run {r + 1}/{repeat}: " +
                    $"{result.DeliveriesPerSecond,12:N0} deliveries/s  p99 {result.P99Ms,8:N1} ms  lost {result.Lost} dup {result.Duplicates}");
            }
        }
    }

    var connectionRuns = new List<ConnectionsResult>();
    if (Wants("connections"))
    {
        foreach (var t in Hubs())
        {
            var run = await runner.ConnectionsAsync(t, parse.GetValue(connectionsOption), ct);
            connectionRuns.Add(run);
            Console.Error.WriteLine($"  connections {t}: {run.Connections} connections in {run.ConnectSeconds:N1} s, {run.BytesPerConnection / 1024:N1} KB/connection");
        }
    }

    var soaks = new List<SoakResult>();
    if (Wants("soak"))
    {
        var soakRunner = new SoakRunner(signingKey, parse.GetValue(configurationOption)!);
        foreach (var t in Hubs())
        {
            var spec = new SoakSpec(t, parse.GetValue(connectionsOption), parse.GetValue(soakRoomsOption), senders, parse.GetValue(soakRateOption), parse.GetValue(durationOption));
            var soak = await soakRunner.RunAsync(spec, ct);
            soaks.Add(soak);
            Console.Error.WriteLine($"  soak {t}: {soak.Delivered:N0} of {soak.Expected:N0} deliveries, lost {soak.Lost} dup {soak.Duplicates}, p99 {soak.P99Ms:N1} ms, RSS {soak.RssAfterWarmupBytes / 1048576.0:N0} -> peak {soak.RssPeakBytes / 1048576.0:N0} MB");
        }
    }

    Report.Write(results, connectionRuns, soaks, outDir);
    return results.Any(r => r.Lost != 0 || r.Duplicates != 0) || soaks.Any(s => s.Lost != 0 || s.Duplicates != 0) ? 1 : 0;
});

return await root.Parse(args).InvokeAsync();
